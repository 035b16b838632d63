/**
 * The OpenAPI document is built from the code (topology + route declarations + domain schemas);
 * these tests hold the committed files to it and the document to the routes, and prove that the
 * conformance check every test answer goes through can fail.
 */
import { readFileSync } from "node:fs";
import { statusOf } from "@flashstock/core/error";
import { routeErrors } from "@flashstock/functions/lib/route-errors";
import { declaredRoutes } from "@flashstock/functions/openapi/declarations";
import { buildDocument } from "@flashstock/functions/openapi/document";
import { clientTypes, outputFiles, postmanCollection } from "@flashstock/functions/openapi/outputs";
import { createConformance } from "@flashstock/testing/conformance";
import { beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../../infra/topology.ts";

// biome-ignore lint/suspicious/noExplicitAny: the document is walked field by field
let document: any;
beforeAll(async () => {
  document = JSON.parse(JSON.stringify(await buildDocument()));
});

const committed = (file: string) => readFileSync(file, "utf8");

describe("the OpenAPI document", () => {
  it("is the committed docs/openapi.json: regenerate it with npm run openapi", () => {
    expect(JSON.parse(committed(outputFiles.document))).toEqual(document);
  });

  it("gives the committed client its types: packages/client/src/schema.ts is current", async () => {
    expect(committed(outputFiles.clientTypes)).toBe(await clientTypes(document));
  });

  it("gives the committed Postman collection: regenerate it with npm run postman", async () => {
    expect(JSON.parse(committed(outputFiles.postman))).toEqual(await postmanCollection(document));
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    "declares %s with its success answer and every error code it can give, by status",
    async (_, route) => {
      // Prepare
      const declared = (await declaredRoutes()).find((d) => d.route === route);
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      if (!declared) throw new Error("no declaration");

      // Act
      const statuses = Object.keys(operation.responses).map(Number);
      const codesByStatus = Object.fromEntries(
        Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400)
          .map(([status, r]) => [
            status,
            // biome-ignore lint/suspicious/noExplicitAny: a response object of the document
            (r as any).content["application/json"].schema.properties.error.properties.code.enum,
          ]),
      );

      // Assess
      expect(statuses).toContain(declared.spec.returns.status);
      const expected: Record<string, string[]> = {};
      for (const code of routeErrors(declared.spec, route.needs)) {
        expected[statusOf(code)] = [...(expected[statusOf(code)] ?? []), code];
      }
      expect(codesByStatus).toEqual(expected);
      expect(statuses).toContain(500);
      expect(operation.operationId).toBe(declared.name);
      const secured = declared.spec.access !== "public";
      expect(operation.security.some((s: object) => "bearerAuth" in s)).toBe(secured);
    },
  );
});

describe("the conformance check", () => {
  const problems = () => createConformance(document);
  const product = {
    sku: "A-1",
    name: "A",
    description: "",
    priceCents: 100,
    currency: "EUR",
    category: null,
    imageUrls: [],
    attributes: {},
    available: 3,
    maxPerCustomer: null,
    availableFrom: null,
    rating: { average: null, count: 0 },
  };
  const json = { "content-type": "application/json" };

  it("accepts a declared status with a body its schema allows", () => {
    expect(
      problems()({
        method: "GET",
        path: "/products/A-1",
        status: 200,
        headers: json,
        text: JSON.stringify(product),
      }),
    ).toEqual([]);
  });

  it.each([
    {
      name: "a status the route does not declare",
      answer: { status: 409, text: '{"error":{"code":"SKU_EXISTS","message":"x"}}' },
      says: "status 409 is not declared",
    },
    {
      name: "a success body missing a field",
      answer: { status: 200, text: JSON.stringify({ ...product, available: undefined }) },
      says: "must have required property 'available'",
    },
    {
      name: "a success body with a field of the wrong type",
      answer: { status: 200, text: JSON.stringify({ ...product, priceCents: "1.00" }) },
      says: "/priceCents must be integer",
    },
    {
      name: "an error code the route does not declare for that status",
      answer: { status: 404, text: '{"error":{"code":"CART_CLOSED","message":"x"}}' },
      says: "/error/code must be equal to one of the allowed values",
    },
    {
      name: "an error body that is not the envelope",
      answer: { status: 404, text: '{"message":"Not Found"}' },
      says: "must have required property 'error'",
    },
  ])("refuses $name", ({ answer, says }) => {
    // Act
    const found = problems()({ method: "GET", path: "/products/A-1", headers: json, ...answer });

    // Assess
    expect(found.join("\n")).toContain(says);
  });

  it("holds answers no route gives to the gateway's own: 404 NOT_FOUND and 405 METHOD_NOT_ALLOWED", () => {
    // Act
    const notFound = problems()({
      method: "GET",
      path: "/nope",
      status: 404,
      headers: json,
      text: '{"error":{"code":"NOT_FOUND","message":"Not found"}}',
    });
    const wrong = problems()({
      method: "DELETE",
      path: "/products",
      status: 404,
      headers: json,
      text: '{"error":{"code":"NOT_FOUND","message":"Not found"}}',
    });

    // Assess
    expect(notFound).toEqual([]);
    expect(wrong.join()).toContain("405 METHOD_NOT_ALLOWED");
  });
});
