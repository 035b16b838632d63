import * as Orders from "@flashstock/core/order/index";
import * as z from "zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const OrderPath = z.object({ id: Orders.OrderId });

export const list = route({ access: "authenticated", query: Orders.ListOrdersInput }).handler(
  ({ query, principal }) => Orders.listOrders(db(), principal, query),
);

export const get = route({ access: "authenticated", path: OrderPath }).handler(
  ({ path, principal }) => Orders.getOrder(db(), path.id, principal),
);

export const cancel = route({ access: "authenticated", path: OrderPath }).handler(
  ({ path, principal }) => Orders.cancelOrder(db(), path.id, principal),
);

export const release = route({ access: ["ops", "admin"], path: OrderPath }).handler(
  ({ path, principal }) => Orders.releaseOrder(db(), path.id, principal),
);
