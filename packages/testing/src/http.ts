/**
 * HTTP to a running API (the local runtime over real sockets), the way the tests' clients send it:
 * every answer is held to the OpenAPI document before the test sees it (conformance.ts), and the
 * typed client (packages/client) runs on the same checked fetch.
 */
import { createFlashstockClient, type FlashstockClient } from "@flashstock/client/index";
import { expectConformingAnswer } from "./conformance.ts";

const withoutBody = new Set([101, 204, 205, 304]);

/** fetch, with the answer checked against the document; throws on an answer it does not declare. */
export async function checkedFetch(
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const request = new Request(input, init);
  const response = await fetch(request);
  const text = await response.text();
  expectConformingAnswer({
    method: request.method,
    path: new URL(request.url).pathname,
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    text,
  });
  return new Response(withoutBody.has(response.status) ? null : text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** The typed client of the API at `baseUrl`, on the checked fetch. */
export function apiClient(baseUrl: string, token?: () => string | undefined): FlashstockClient {
  return createFlashstockClient({
    baseUrl,
    fetch: (request) => checkedFetch(request),
    ...(token ? { token } : {}),
  });
}
