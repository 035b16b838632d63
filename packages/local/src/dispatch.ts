import { fileURLToPath } from "node:url";
import { type ErrorCode, messageOf, statusOf } from "@flashstock/core/error";
import { withGrants } from "@flashstock/functions/lib/grants";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import type { HttpRoute } from "../../../infra/topology.ts";
import { apiGatewayEvent, type HttpRequestLike, lambdaContext } from "./event.ts";
import { createRouter } from "./router.ts";

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const loaded = new Map<string, Promise<Handler>>();

/** Imports the module and export a topology handler name points at, exactly as Lambda would. */
export function loadHandler(name: string): Promise<Handler> {
  let handler = loaded.get(name);
  if (!handler) {
    const dot = name.lastIndexOf(".");
    const file = `${repoRoot}${name.slice(0, dot)}.ts`;
    const exportName = name.slice(dot + 1);
    handler = import(file).then((mod) => {
      const fn = mod[exportName];
      if (typeof fn !== "function") throw new Error(`${file} does not export ${exportName}`);
      return fn as Handler;
    });
    loaded.set(name, handler);
  }
  return handler;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** An answer API Gateway gives itself, before any handler runs, in the API's error shape. */
const gatewayError = (
  code: ErrorCode,
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
) => ({
  statusCode: statusOf(code),
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify({ error: { code, message: messageOf(code, details) } }),
});

/**
 * What API Gateway does for one request: find the route, build the v2 event, invoke the handler,
 * and turn its result into a response. Used by the local HTTP server and by the tests.
 */
export function createDispatcher(routes: readonly HttpRoute[]) {
  const match = createRouter(routes);
  return async function dispatch(req: HttpRequestLike): Promise<HttpResponse> {
    const found = match(req.method, req.rawPath);
    if (found.kind === "not_found") return gatewayError("NOT_FOUND");
    if (found.kind === "bad_path") return gatewayError("MALFORMED_PATH");
    if (found.kind === "method_not_allowed") {
      const allow = found.allow.join(", ");
      return gatewayError("METHOD_NOT_ALLOWED", { allow }, { allow });
    }
    const { route, pathParameters } = found;
    const routeKey = `${route.method} ${route.path}`;
    const handler = await loadHandler(route.handler);
    const result = await withGrants(route.handler, route.needs, () =>
      handler(
        apiGatewayEvent(req, routeKey, pathParameters),
        lambdaContext(route.handler.replace(/\W+/g, "-")),
      ),
    );
    const body =
      result.body === undefined
        ? ""
        : result.isBase64Encoded
          ? Buffer.from(result.body, "base64").toString("utf8")
          : result.body;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
    return { statusCode: result.statusCode ?? 200, headers, body };
  };
}
