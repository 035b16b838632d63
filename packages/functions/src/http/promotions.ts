import * as Promotions from "@flashstock/core/promotion/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const CodePath = z.object({ code: Promotions.PromotionCode });
const admin = ["admin"] as const;

export const create = route({
  access: admin,
  summary: "Create a coupon code: percent or fixed, with its window, minimum and limits",
  body: Promotions.CreatePromotionInput,
  returns: { status: 201, body: Promotions.Promotion },
  errors: ["PROMOTION_EXISTS"],
}).handler(({ body }) => Promotions.createPromotion(db(), body));

export const list = route({
  access: admin,
  summary: "Promotions, by code, a page at a time",
  query: Promotions.ListPromotionsInput,
  returns: { status: 200, body: Promotions.PromotionPage },
  errors: ["INVALID_CURSOR"],
}).handler(({ query }) => Promotions.listPromotions(db(), query));

export const get = route({
  access: admin,
  summary: "One promotion, with the uses taken",
  path: CodePath,
  returns: { status: 200, body: Promotions.Promotion },
  errors: ["NOT_FOUND"],
}).handler(({ path }) => Promotions.getPromotion(db(), path.code));

export const update = route({
  access: admin,
  summary: "Turn a promotion off or on, end it, or change its limits",
  path: CodePath,
  body: Promotions.UpdatePromotionInput,
  returns: { status: 200, body: Promotions.Promotion },
  errors: ["NOT_FOUND", "PROMOTION_EXHAUSTED"],
}).handler(({ path, body }) => Promotions.updatePromotion(db(), path.code, body));
