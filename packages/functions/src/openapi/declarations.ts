import { fileURLToPath } from "node:url";
import { type HttpRoute, routes } from "../../../../infra/topology.ts";
import type { DeclaredHandler, RouteSpec } from "../lib/http.ts";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export interface DeclaredRoute {
  route: HttpRoute;
  /** `products.list`: the handler's module and export, which is also its operationId. */
  name: string;
  spec: RouteSpec<unknown, unknown, unknown, unknown>;
}

/** Every topology route with the declaration its handler module exports. */
export async function declaredRoutes(): Promise<DeclaredRoute[]> {
  return Promise.all(
    routes.map(async (route) => {
      const dot = route.handler.lastIndexOf(".");
      const file = route.handler.slice(0, dot);
      const exported = route.handler.slice(dot + 1);
      const module = (await import(`${repoRoot}${file}.ts`)) as Record<string, unknown>;
      const handler = module[exported] as Partial<DeclaredHandler> | undefined;
      if (!handler?.spec) throw new Error(`${route.handler} is not a route() handler`);
      const name = `${file.slice(file.lastIndexOf("/") + 1)}.${exported}`;
      return { route, name, spec: handler.spec };
    }),
  );
}
