import * as Reports from "@flashstock/core/report/index";
import { reorderCoverDays } from "../lib/config.ts";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const sales = route({
  access: ["stock_manager", "ops", "admin"],
  summary:
    "Sales per day, top products and orders by status between two UTC dates (at most 366 days); revenue for ops and admin only",
  query: Reports.SalesReportQuery,
  returns: { status: 200, body: Reports.SalesReport },
}).handler(({ query, principal }) =>
  Reports.salesReport(db(), query, { withRevenue: principal.role !== "stock_manager" }),
);

export const inventory = route({
  access: ["stock_manager", "admin"],
  summary:
    "Every SKU's stock with its sales velocity, days of cover and suggested reorder, as the stock emails compute them",
  returns: { status: 200, body: Reports.InventoryReport },
}).handler(() => Reports.inventoryReport(db(), { coverDays: reorderCoverDays() }));
