/**
 * What the OpenAPI document is turned into, as pure functions of it, so that `npm run openapi` /
 * `npm run postman` write exactly what the staleness tests recompute.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import Converter from "openapi-to-postmanv2";
import openapiTS, { astToString } from "openapi-typescript";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

export const outputFiles = {
  document: `${root}docs/openapi.json`,
  clientTypes: `${root}packages/client/src/schema.ts`,
  postman: `${root}docs/flashstock.postman_collection.json`,
};

/** The typed client's types: paths, operations and components of the document. */
export async function clientTypes(document: object): Promise<string> {
  const ast = await openapiTS(document as Parameters<typeof openapiTS>[0]);
  return `// Generated from docs/openapi.json by \`npm run openapi\` (openapi-typescript). Do not edit.\n\n${astToString(ast)}`;
}

/** A UUID that depends only on what it names, so that the collection is the same on every run. */
const stableId = (...parts: string[]) => {
  const hex = createHash("sha256").update(parts.join("\n")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

type Json = Record<string, unknown>;

/** mulberry32: a small, fast PRNG whose sequence depends only on its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Replaces every `id`/`_postman_id` the converter made up (random UUIDs) by one from its path. */
function stabilise(node: unknown, path: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      stabilise(child, [...path, String((child as Json)?.name ?? i)]);
    });
    return;
  }
  if (!node || typeof node !== "object") return;
  const object = node as Json;
  for (const key of ["id", "_postman_id"]) {
    if (typeof object[key] === "string") object[key] = stableId(...path, key);
  }
  for (const [key, child] of Object.entries(object)) stabilise(child, [...path, key]);
}

/**
 * The Postman collection: one folder per tag, requests named by their summary, `{{baseUrl}}`
 * for the server and the bearer token as the collection variable `{{token}}`, which every
 * request that needs one inherits.
 */
export async function postmanCollection(document: object): Promise<Json> {
  // The converter fakes sample values for schemas without an example (how many keys a free-form
  // object gets, say) with json-schema-faker: seeded here, the collection is the same every run.
  const faker = createRequire(import.meta.url)(
    "openapi-to-postmanv2/assets/json-schema-faker.js",
  ) as { option(options: { random: () => number }): void };
  faker.option({ random: seededRandom(0x5eed) });
  const collection = await new Promise<Json>((resolve, reject) => {
    Converter.convert(
      { type: "json", data: structuredClone(document) },
      {
        folderStrategy: "Tags",
        requestNameSource: "Fallback",
        parametersResolution: "Example",
        alwaysInheritAuthentication: true,
      },
      (err, result) => {
        if (err) return reject(new Error(err.message));
        const output = result?.result ? result.output?.[0] : undefined;
        if (!output) return reject(new Error(`openapi-to-postmanv2: ${result?.reason}`));
        resolve(output.data as Json);
      },
    );
  });
  collection.auth = {
    type: "bearer",
    bearer: [{ key: "token", value: "{{token}}", type: "string" }],
  };
  const servers = (document as { servers?: { url: string }[] }).servers ?? [];
  collection.variable = [
    { key: "baseUrl", value: servers[0]?.url ?? "http://127.0.0.1:3000", type: "string" },
    {
      key: "token",
      value: "",
      type: "string",
      description: "The token register or login answers with",
    },
  ];
  stabilise(collection, ["flashstock"]);
  return collection;
}
