/**
 * Holds an HTTP answer to the OpenAPI document (docs/openapi.json): the status must be one the
 * document declares for the route, and the body must be valid against that response's schema
 * (JSON Schema 2020-12, which OpenAPI 3.1 uses, checked by ajv). The shared test clients (the
 * in-process `call`, the HTTP clients of the reliability and runtime tests) run every answer
 * through it, so a handler answering something its declaration does not cover fails a test.
 */
import { readFileSync } from "node:fs";
import { createRouter } from "@flashstock/local/router";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { routes } from "../../../infra/topology.ts";

export interface Answer {
  method: string;
  /** The path as sent, percent-encoded, without the query. */
  path: string;
  status: number;
  headers: Record<string, string | undefined>;
  /** The body as received. */
  text: string;
}

interface MediaType {
  schema?: object;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const documentUrl = new URL("../../../docs/openapi.json", import.meta.url);
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** Answers given by the gateway before any route: no operation declares them. */
const gatewayAnswers: Record<string, { status: number; code: string }> = {
  not_found: { status: 404, code: "NOT_FOUND" },
  method_not_allowed: { status: 405, code: "METHOD_NOT_ALLOWED" },
  bad_path: { status: 400, code: "MALFORMED_PATH" },
};

const escapePointer = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");

export function createConformance(document: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // The whole document as one schema resource, so that "#/components/schemas/..." resolves.
  ajv.addSchema(document, "openapi");
  const match = createRouter(routes);

  /** The problems with an answer; none when it is what the document declares. */
  return function problems(answer: Answer): string[] {
    const label = `${answer.method} ${answer.path} -> ${answer.status}`;
    // A CORS preflight is answered by the gateway itself, with no body, for any route.
    if (answer.method === "OPTIONS" && answer.status === 204 && answer.text === "") return [];
    let body: unknown;
    const type = answer.headers["content-type"] ?? "";
    if (/json/.test(type)) {
      try {
        body = JSON.parse(answer.text);
      } catch {
        return [`${label}: the body is not the JSON its content-type says`];
      }
    }
    const found = match(answer.method, answer.path);
    if (found.kind !== "found") {
      const expected = gatewayAnswers[found.kind] as { status: number; code: string };
      const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
      return answer.status === expected.status && code === expected.code
        ? []
        : [`${label}: the gateway answers ${expected.status} ${expected.code} here, not ${code}`];
    }
    const { route } = found;
    const operation = document.paths[route.path]?.[route.method.toLowerCase()];
    if (!operation) return [`${label}: ${route.method} ${route.path} is not in the document`];
    const response = operation.responses[String(answer.status)];
    if (!response) {
      const declared = Object.keys(operation.responses).join(", ");
      return [`${label}: status ${answer.status} is not declared for this route (${declared})`];
    }
    const declaredTypes = Object.keys(response.content ?? {});
    // No content declared (204): the answer must have none.
    if (declaredTypes.length === 0) {
      return answer.text === "" ? [] : [`${label}: a body where none is declared`];
    }
    const mediaType = declaredTypes.find((t) => type.startsWith(t));
    if (!mediaType) return [`${label}: content-type ${type} is not one of ${declaredTypes}`];
    if (!/json/.test(mediaType)) return [];
    const pointer = [
      "paths",
      route.path,
      route.method.toLowerCase(),
      "responses",
      String(answer.status),
      "content",
      mediaType,
      "schema",
    ]
      .map((p) => encodeURIComponent(escapePointer(p)))
      .join("/");
    const validate = ajv.getSchema(`openapi#/${pointer}`);
    if (!validate) return [`${label}: no schema at ${pointer}`];
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${label}: body${e.instancePath} ${e.message} (${JSON.stringify(e.params)})`,
    );
  };
}

let shared: ((answer: Answer) => string[]) | undefined;

/** Throws when the answer is not what the committed document declares. */
export function expectConformingAnswer(answer: Answer): void {
  shared ??= createConformance(JSON.parse(readFileSync(documentUrl, "utf8")));
  const found = shared(answer);
  if (found.length > 0) {
    throw new Error(
      `An answer the OpenAPI document does not declare:\n${found.join("\n")}\nbody: ${answer.text.slice(0, 500)}`,
    );
  }
}
