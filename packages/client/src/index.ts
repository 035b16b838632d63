/**
 * A typed client of the flashstock API: `openapi-fetch` over the types that `npm run openapi`
 * generates from the OpenAPI document (schema.ts). Paths, parameters, bodies and every answer,
 * errors included, are typed as the document declares them.
 *
 *   const api = createFlashstockClient({ baseUrl: "http://127.0.0.1:3000", token: () => token });
 *   const { data, error, response } = await api.GET("/products/{sku}", {
 *     params: { path: { sku: "TEE-BLK-M" } },
 *   });
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.ts";

export type { components, paths };
export type FlashstockClient = Client<paths>;

/** What the API answers with, by schema name: `Schema<"Order">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

export interface ClientOptions {
  baseUrl: string;
  /** The bearer token to send, read on every request (undefined: none). */
  token?: () => string | undefined;
  /** Another fetch (a test's, or one with timeouts). */
  fetch?: typeof globalThis.fetch;
  /** Runs on every request and answer, e.g. to check answers against the document in tests. */
  middleware?: Middleware[];
}

export function createFlashstockClient(options: ClientOptions): FlashstockClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use({
    onRequest({ request }) {
      const token = options.token?.();
      if (token) request.headers.set("authorization", `Bearer ${token}`);
      return request;
    },
  });
  for (const m of options.middleware ?? []) client.use(m);
  return client;
}
