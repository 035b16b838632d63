import { type ErrorCode, errorRegistry } from "@flashstock/core/error";
import type { Need } from "../../../../infra/topology.ts";
import type { RouteSpec } from "./http.ts";

/**
 * Every error code a route can answer with: the ones its domain declares, and the ones that follow
 * from its declaration, in the registry's order. The OpenAPI document lists them per status, and
 * the tests hold every answer to them.
 */
export function routeErrors(
  spec: RouteSpec<unknown, unknown, unknown, unknown>,
  needs: readonly Need[],
): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors ?? []);
  // A bad token is refused even where one is optional; a role list refuses the other roles.
  if (spec.access !== "public") codes.add("UNAUTHENTICATED");
  if (Array.isArray(spec.access)) codes.add("FORBIDDEN");
  if (spec.path || spec.query || spec.headers || spec.body) codes.add("VALIDATION_FAILED");
  // Path parameters arrive percent-encoded; junk there is refused before the handler runs.
  if (spec.path) codes.add("MALFORMED_PATH");
  if (spec.body) {
    if (!spec.rawBody) codes.add("MALFORMED_JSON");
    codes.add("UNSUPPORTED_MEDIA_TYPE");
    codes.add("BODY_TOO_LARGE");
  }
  if (needs.includes("database")) codes.add("SERVICE_UNAVAILABLE");
  codes.add("INTERNAL_ERROR");
  return (Object.keys(errorRegistry) as ErrorCode[]).filter((code) => codes.has(code));
}
