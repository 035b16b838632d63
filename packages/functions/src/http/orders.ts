import * as Orders from "@flashstock/core/order/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const OrderPath = z.object({ id: Orders.OrderId });

/** Orders hold shipping addresses: stock managers have no need to read them. */
const orderReaders = ["customer", "ops", "admin"] as const;

export const list = route({
  access: orderReaders,
  summary: "Orders, newest first: a customer's own, or all of them for ops and admin",
  query: Orders.ListOrdersInput,
  returns: { status: 200, body: Orders.OrderPage },
  errors: ["INVALID_CURSOR"],
}).handler(({ query, principal }) => Orders.listOrders(db(), principal, query));

export const get = route({
  access: orderReaders,
  summary: "One order (its owner's, or any for ops and admin)",
  path: OrderPath,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND"],
}).handler(({ path, principal }) => Orders.getOrder(db(), path.id, principal));

export const cancel = route({
  access: orderReaders,
  summary: "Cancel an order: its units go back, and its money (its owner, ops or admin)",
  path: OrderPath,
  body: Orders.CancelOrderInput,
  optionalBody: true,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND", "FORBIDDEN", "INVALID_STATE"],
}).handler(({ path, body, principal }) => Orders.cancelOrder(db(), path.id, principal, body));

export const release = route({
  access: ["ops", "admin"],
  summary: "Release an order held as a suspected duplicate",
  path: OrderPath,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND", "INVALID_STATE"],
}).handler(({ path, principal }) => Orders.releaseOrder(db(), path.id, principal));

export const ship = route({
  access: ["ops", "admin"],
  summary: "Hand a confirmed order to a carrier; the customer gets the tracking link",
  path: OrderPath,
  body: Orders.ShipOrderInput,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND", "INVALID_STATE"],
}).handler(({ path, body, principal }) => Orders.shipOrder(db(), path.id, principal, body));

export const deliver = route({
  access: ["ops", "admin"],
  summary: "Record that a shipped order arrived (cash on delivery is paid then)",
  path: OrderPath,
  returns: { status: 200, body: Orders.Order },
  errors: ["NOT_FOUND", "INVALID_STATE"],
}).handler(({ path, principal }) => Orders.deliverOrder(db(), path.id, principal));
