import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as z from "@flashstock/core/zod";
import document from "../../../../docs/openapi.json" with { type: "json" };
import { route, withHeaders } from "../lib/http.ts";

export const index = route({
  access: "public",
  summary: "Where the API describes itself",
  returns: {
    status: 200,
    body: z.object({
      name: z.string(),
      version: z.string(),
      openapi: z.string(),
      docs: z.string(),
    }),
  },
}).handler(async () => ({
  name: document.info.title,
  version: document.info.version,
  openapi: "/openapi.json",
  docs: "/docs",
}));

/** The committed document (npm run openapi writes it; a test fails when it is stale). */
export const openapi = route({
  access: "public",
  summary: "This API's OpenAPI 3.1 document",
  returns: {
    status: 200,
    body: z.looseObject({
      openapi: z.string(),
      info: z.looseObject({ title: z.string(), version: z.string() }),
      paths: z.record(z.string(), z.unknown()),
    }),
  },
}).handler(async () => withHeaders(document, { "cache-control": "public, max-age=300" }));

// Swagger UI from the swagger-ui-dist package, served by this API itself: the page needs nothing
// from any other host (its stylesheet embeds its icons), so it works offline.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flashstock API reference</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: true,
});
</script>
</body>
</html>
`;

export const reference = route({
  access: "public",
  summary: "An interactive reference of this API (Swagger UI)",
  returns: { status: 200, body: z.string(), contentType: "text/html; charset=utf-8" },
}).handler(async () => page);

const swaggerUi = (file: string) =>
  readFile(createRequire(import.meta.url).resolve(`swagger-ui-dist/${file}`), "utf8");
const cached = { "cache-control": "public, max-age=86400" };

export const stylesheet = route({
  access: "public",
  summary: "The reference page's stylesheet",
  returns: { status: 200, body: z.string(), contentType: "text/css; charset=utf-8" },
}).handler(async () => withHeaders(await swaggerUi("swagger-ui.css"), cached));

export const script = route({
  access: "public",
  summary: "The reference page's script",
  returns: { status: 200, body: z.string(), contentType: "text/javascript; charset=utf-8" },
}).handler(async () => withHeaders(await swaggerUi("swagger-ui-bundle.js"), cached));
