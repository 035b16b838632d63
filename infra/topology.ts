/**
 * The system, as plain data: every HTTP route and the handler behind it. The local runtime builds
 * its router from this file, and the cloud definitions (SST in infra/, CDK in stacks/) are to read
 * the same file, so that local and cloud cannot drift. No SST or CDK import belongs here.
 *
 * A handler is named as SST names it: "<file path without extension>.<export name>".
 */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRoute {
  method: HttpMethod;
  /** API Gateway route syntax: `{name}` is one path segment. */
  path: string;
  handler: string;
}

const http = "packages/functions/src/http";

export const routes = [
  { method: "GET", path: "/health", handler: `${http}/health.check` },

  { method: "POST", path: "/auth/register", handler: `${http}/auth.register` },
  { method: "POST", path: "/auth/login", handler: `${http}/auth.login` },
  { method: "POST", path: "/staff", handler: `${http}/staff.create` },

  { method: "GET", path: "/products", handler: `${http}/products.list` },
  { method: "POST", path: "/products", handler: `${http}/products.create` },
  { method: "GET", path: "/products/{sku}", handler: `${http}/products.get` },
  { method: "PATCH", path: "/products/{sku}", handler: `${http}/products.update` },

  { method: "GET", path: "/inventory", handler: `${http}/inventory.list` },
  { method: "PUT", path: "/inventory/{sku}", handler: `${http}/inventory.setMinimum` },
  { method: "POST", path: "/inventory/{sku}/adjustments", handler: `${http}/inventory.adjust` },
  { method: "GET", path: "/inventory/{sku}/movements", handler: `${http}/inventory.movements` },

  { method: "POST", path: "/carts", handler: `${http}/cart.create` },
  { method: "GET", path: "/carts/{id}", handler: `${http}/cart.get` },
  { method: "PUT", path: "/carts/{id}/items/{sku}", handler: `${http}/cart.setItem` },
  { method: "DELETE", path: "/carts/{id}/items/{sku}", handler: `${http}/cart.removeItem` },

  { method: "POST", path: "/checkout", handler: `${http}/checkout.checkout` },

  { method: "GET", path: "/orders", handler: `${http}/orders.list` },
  { method: "GET", path: "/orders/{id}", handler: `${http}/orders.get` },
  { method: "POST", path: "/orders/{id}/cancel", handler: `${http}/orders.cancel` },
] as const satisfies readonly HttpRoute[];

export const topology = { routes } as const;
export type Topology = typeof topology;
