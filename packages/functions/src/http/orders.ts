import * as Orders from "@flashstock/core/order/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const OrderPath = z.object({ id: Orders.OrderId });

export const list = route({
  access: "authenticated",
  summary: "Orders, newest first: a customer's own, or all of them for staff",
  query: Orders.ListOrdersInput,
  returns: { status: 200, body: Orders.OrderPage },
  errors: ["INVALID_CURSOR"],
}).handler(({ query, principal }) => Orders.listOrders(db(), principal, query));

export const get = route({
  access: "authenticated",
  summary: "One order (its owner's, or any for staff)",
  path: OrderPath,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND"],
}).handler(({ path, principal }) => Orders.getOrder(db(), path.id, principal));

export const cancel = route({
  access: "authenticated",
  summary: "Cancel an order and put its units back (its owner, ops or admin)",
  path: OrderPath,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND", "FORBIDDEN", "INVALID_STATE"],
}).handler(({ path, principal }) => Orders.cancelOrder(db(), path.id, principal));

export const release = route({
  access: ["ops", "admin"],
  summary: "Release an order held as a suspected duplicate",
  path: OrderPath,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND", "INVALID_STATE"],
}).handler(({ path, principal }) => Orders.releaseOrder(db(), path.id, principal));
