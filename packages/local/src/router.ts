import type { HttpMethod, HttpRoute } from "../../../infra/topology.ts";

export type RouteMatch =
  | { kind: "found"; route: HttpRoute; pathParameters: Record<string, string> }
  | { kind: "not_found" }
  | { kind: "method_not_allowed"; allow: HttpMethod[] }
  | { kind: "bad_path" };

interface Compiled {
  route: HttpRoute;
  pattern: RegExp;
  names: string[];
}

/**
 * Matches request paths against the topology's API Gateway route templates (`/carts/{id}`), as
 * API Gateway does: `{name}` is one non-empty segment, and path parameters arrive URL-decoded.
 */
export function createRouter(routes: readonly HttpRoute[]) {
  const compiled: Compiled[] = routes.map((route) => {
    const names: string[] = [];
    const source = route.path
      .split("/")
      .map((segment) => {
        const param = /^\{(\w+)\}$/.exec(segment);
        if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(param[1]);
        return "([^/]+)";
      })
      .join("/");
    return { route, pattern: new RegExp(`^${source}$`), names };
  });

  return function match(method: string, path: string): RouteMatch {
    const allow: HttpMethod[] = [];
    for (const c of compiled) {
      const m = c.pattern.exec(path);
      if (!m) continue;
      if (c.route.method !== method) {
        allow.push(c.route.method);
        continue;
      }
      const pathParameters: Record<string, string> = {};
      try {
        c.names.forEach((name, i) => {
          pathParameters[name] = decodeURIComponent(m[i + 1] as string);
        });
      } catch {
        return { kind: "bad_path" };
      }
      return { kind: "found", route: c.route, pathParameters };
    }
    return allow.length > 0 ? { kind: "method_not_allowed", allow } : { kind: "not_found" };
  };
}
