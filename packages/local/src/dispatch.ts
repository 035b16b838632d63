import { fileURLToPath } from "node:url";
import { type ErrorCode, messageOf, statusOf } from "@flashstock/core/error";
import { withGrants } from "@flashstock/functions/lib/grants";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { cors, type HttpRoute, parseOrigins } from "../../../infra/topology.ts";
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
  headers: { "content-type": "application/json", "x-content-type-options": "nosniff", ...headers },
  body: JSON.stringify({ error: { code, message: messageOf(code, details) } }),
});

const header = (req: HttpRequestLike, name: string) => {
  const value = Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(",") : value;
};

/**
 * The topology's CORS policy as API Gateway applies it: a preflight (OPTIONS) to any route's path
 * is answered by the gateway itself, and any answer to an allowed Origin carries
 * Access-Control-Allow-Origin. The allowed origins are read from CORS_ALLOWED_ORIGINS per request,
 * so a test can change them.
 */
function corsHeaders(req: HttpRequestLike): Record<string, string> {
  const origin = header(req, "origin");
  if (!origin || !parseOrigins(process.env[cors.originsEnv]).includes(origin)) return {};
  return {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": cors.exposeHeaders.join(","),
    vary: "origin",
  };
}

function preflight(req: HttpRequestLike): HttpResponse {
  const allowed = corsHeaders(req);
  return {
    statusCode: 204,
    headers: allowed["access-control-allow-origin"]
      ? {
          ...allowed,
          "access-control-allow-methods": cors.allowMethods.join(","),
          "access-control-allow-headers": cors.allowHeaders.join(","),
          "access-control-max-age": String(cors.maxAgeSeconds),
        }
      : {},
    body: "",
  };
}

/**
 * What API Gateway does for one request: answer a CORS preflight, or find the route, build the v2
 * event, invoke the handler, and turn its result into a response. Used by the local HTTP server and
 * by the tests.
 */
export function createDispatcher(routes: readonly HttpRoute[]) {
  const match = createRouter(routes);
  const paths = createRouter(routes.map((r) => ({ ...r, method: "GET" as const })));
  return async function dispatch(req: HttpRequestLike): Promise<HttpResponse> {
    if (req.method === "OPTIONS" && paths("GET", req.rawPath).kind !== "not_found") {
      return preflight(req);
    }
    const response = await answer(req);
    return { ...response, headers: { ...response.headers, ...corsHeaders(req) } };
  };

  async function answer(req: HttpRequestLike): Promise<HttpResponse> {
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
  }
}
