/**
 * The web UI's pages that emails link to, by path: packages/web routes the same paths. A link is
 * the stage's WEB_URL and one of these.
 */
export const webPage = {
  /** A SKU in the stock dashboard, with its restock button. */
  stockItem: (sku: string) => `/stock/${encodeURIComponent(sku)}`,
  /** An order on the ops desk: a held duplicate beside the order it repeats. */
  opsOrder: (id: string) => `/ops/orders/${encodeURIComponent(id)}`,
  /** A customer's order page: its timeline and tracking. */
  order: (id: string) => `/orders/${encodeURIComponent(id)}`,
  resetPassword: (token: string) => `/reset-password?token=${encodeURIComponent(token)}`,
} as const;

export const webLink = (webUrl: string, path: string) => `${webUrl.replace(/\/+$/, "")}${path}`;
