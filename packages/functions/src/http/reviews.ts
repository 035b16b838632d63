import { Sku } from "@flashstock/core/catalog/index";
import * as Reviews from "@flashstock/core/review/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const SkuPath = z.object({ sku: Sku });

export const create = route({
  access: ["customer"],
  summary: "Review a product you received (a delivered order holds it): 1-5 stars, once",
  path: SkuPath,
  body: Reviews.ReviewInput,
  returns: { status: 201, body: Reviews.Review },
  errors: ["NOT_FOUND", "NOT_A_VERIFIED_BUYER", "REVIEW_EXISTS"],
}).handler(({ path, body, principal }) => Reviews.postReview(db(), path.sku, principal, body));

export const list = route({
  access: "public",
  summary: "A product's reviews, newest first, a page at a time",
  path: SkuPath,
  query: Reviews.ListReviewsInput,
  returns: { status: 200, body: Reviews.ReviewPage },
  errors: ["NOT_FOUND", "INVALID_CURSOR"],
}).handler(({ path, query }) => Reviews.listReviews(db(), path.sku, query));
