import { createDispatcher } from "@flashstock/local/dispatch";
import type { HttpRequestLike } from "@flashstock/local/event";
import { routes } from "../../../infra/topology.ts";
import { expectConformingAnswer } from "./conformance.ts";

export { apiGatewayEvent as httpEvent, lambdaContext } from "@flashstock/local/event";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  /** Sent as JSON (with content-type application/json) unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** The caller's address as API Gateway reports it (requestContext.http.sourceIp). */
  sourceIp?: string;
}

const dispatch = createDispatcher(routes);

/**
 * Calls the API as API Gateway would, in process: the topology's router, a v2 event, the real
 * handler module. No HTTP socket, so thousands of calls stay cheap; one test suite also goes
 * through the real HTTP server.
 */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
export async function call<T = any>(
  method: string,
  url: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQueryString = q < 0 ? "" : url.slice(q + 1);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: HttpRequestLike["body"];
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await dispatch({
    method,
    rawPath,
    rawQueryString,
    headers,
    body,
    sourceIp: options.sourceIp,
  });
  expectConformingAnswer({
    method,
    path: rawPath,
    status: response.statusCode,
    headers: response.headers,
    text: response.body,
  });
  let parsed: unknown;
  try {
    parsed = response.body ? JSON.parse(response.body) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    status: response.statusCode,
    headers: response.headers,
    body: parsed as T,
    text: response.body,
  };
}
