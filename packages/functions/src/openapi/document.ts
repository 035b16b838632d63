/**
 * The OpenAPI 3.1 document of the HTTP API, built from what the code already knows: the topology's
 * routes, each handler's declaration (access, inputs, what it returns, its domain's error codes),
 * the domain's zod schemas and the error registry. Never written by hand, so it cannot drift;
 * `npm run openapi` writes it to docs/openapi.json, which GET /openapi.json serves.
 */
import * as Auth from "@flashstock/core/auth/index";
import * as Sessions from "@flashstock/core/auth/session";
import * as Cart from "@flashstock/core/cart/index";
import * as Catalog from "@flashstock/core/catalog/index";
import { type ErrorCode, errorRegistry, messageOf, statusOf } from "@flashstock/core/error";
import { whenAnswered } from "@flashstock/core/error-docs";
import * as Inventory from "@flashstock/core/inventory/index";
import * as Orders from "@flashstock/core/order/index";
import * as Payment from "@flashstock/core/payment/index";
import * as z from "@flashstock/core/zod";
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiResponsesObject,
} from "zod-openapi";
import { routeErrors } from "../lib/route-errors.ts";
import { type DeclaredRoute, declaredRoutes } from "./declarations.ts";
import { requestExamples, responseExamples } from "./examples.ts";

/** The error envelope every failure is answered with; `codes` narrows it to one response's. */
export const errorEnvelope = (codes: readonly [ErrorCode, ...ErrorCode[]]) =>
  z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      details: z.optional(z.record(z.string(), z.unknown())),
    }),
  });

/**
 * What the API returns, named once in components and referenced wherever it appears. Request
 * bodies stay inline: their schemas transform what they parse, which only has an input shape.
 */
const schemas = {
  Product: Catalog.Product,
  ProductPage: Catalog.ProductPage,
  StockLevel: Inventory.StockLevel,
  InventoryItem: Inventory.InventoryItem,
  InventoryList: Inventory.InventoryList,
  Movement: Inventory.Movement,
  MovementPage: Inventory.MovementPage,
  Cart: Cart.Cart,
  CartItem: Cart.CartItem,
  Order: Orders.Order,
  OrderLine: Orders.OrderLine,
  OrderHold: Orders.OrderHold,
  Address: Orders.Address,
  OrderPage: Orders.OrderPage,
  Payment: Orders.Payment,
  Shipment: Orders.Shipment,
  Wallet: Payment.Wallet,
  WalletTransaction: Payment.WalletTransaction,
  WalletChange: Payment.WalletChange,
  User: Auth.User,
  Session: Sessions.Session,
  TokenPair: Sessions.TokenPair,
};

const key = ({ route }: DeclaredRoute) => `${route.method} ${route.path}`;

function accessDescription({ spec }: DeclaredRoute): string {
  if (spec.access === "public") return "Anyone; no token is read.";
  if (spec.access === "optional") {
    return "Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.";
  }
  if (spec.access === "authenticated") return "Any signed-in user (bearer token).";
  return `Roles: ${spec.access.join(", ")} (bearer token).`;
}

function security({ spec }: DeclaredRoute): Record<string, string[]>[] {
  if (spec.access === "public") return [];
  if (spec.access === "optional") return [{}, { bearerAuth: [] }];
  return [{ bearerAuth: [] }];
}

function errorResponses(declared: DeclaredRoute): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrors(declared.spec, declared.route.needs)) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, codes] of byStatus) {
    responses[String(status)] = {
      description: codes.map((c) => `\`${c}\`: ${whenAnswered[c]}`).join("\n\n"),
      content: {
        "application/json": {
          schema: errorEnvelope(codes as [ErrorCode, ...ErrorCode[]]),
          examples: Object.fromEntries(
            codes.map((code) => [code, { value: { error: { code, message: messageOf(code) } } }]),
          ),
        },
      },
    };
  }
  return responses;
}

function operation(declared: DeclaredRoute): ZodOpenApiOperationObject {
  const { spec, route } = declared;
  const { returns } = spec;
  const contentType = returns.contentType ?? "application/json";
  const example = responseExamples[key(declared)];
  const request = requestExamples[key(declared)];
  return {
    operationId: declared.name,
    summary: spec.summary,
    description: accessDescription(declared),
    tags: [route.path.split("/")[1] || "api"],
    security: security(declared),
    requestParams: {
      ...(spec.path ? { path: spec.path as z.ZodMiniObject } : {}),
      ...(spec.query ? { query: spec.query as z.ZodMiniObject } : {}),
      ...(spec.headers ? { header: z.object(spec.headers) } : {}),
    },
    ...(spec.body
      ? {
          requestBody: {
            required: !spec.optionalBody,
            content: {
              "application/json": {
                schema: spec.rawBody?.describedBy ?? spec.body,
                ...(request === undefined ? {} : { example: request }),
              },
            },
          },
        }
      : {}),
    responses: {
      [String(returns.status)]: {
        description: spec.summary,
        ...(returns.headers
          ? {
              headers: z.object(
                Object.fromEntries(
                  Object.entries(returns.headers).map(([name, description]) => [
                    name,
                    z.optional(z.string()).register(z.globalRegistry, { description }),
                  ]),
                ),
              ),
            }
          : {}),
        ...(returns.body
          ? {
              content: {
                [contentType]: {
                  schema: returns.body,
                  ...(example === undefined ? {} : { example }),
                },
              },
            }
          : {}),
      },
      ...errorResponses(declared),
    },
  };
}

/**
 * Names the domain's schemas for the document. Metadata goes on the schemas themselves (zod's
 * global registry, read by zod-openapi), not on copies, so every use of one becomes a reference;
 * only this build process does it, never a handler.
 */
function nameSchemas() {
  for (const [id, schema] of Object.entries(schemas)) {
    if (!z.globalRegistry.has(schema)) z.globalRegistry.add(schema, { id });
  }
}

export async function buildDocument() {
  nameSchemas();
  const declared = await declaredRoutes();
  const paths: ZodOpenApiPathsObject = {};
  for (const d of declared) {
    paths[d.route.path] ??= {};
    (paths[d.route.path] as Record<string, unknown>)[d.route.method.toLowerCase()] = operation(d);
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "flashstock",
      version: "0.1.0",
      summary: "A serverless backend for online shops that cannot oversell",
      description: [
        "JSON everywhere, camelCase fields, money in integer minor units (`priceCents`) with an ISO 4217 `currency`.",
        "Every error is `{error: {code, message, details?}}`; each operation lists the codes it can answer with, by status.",
        "A 503 means no verdict was reached: retry, and retry a checkout with the same `Idempotency-Key`.",
        `The error codes: ${Object.keys(errorRegistry).join(", ")}.`,
      ].join("\n\n"),
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "http://127.0.0.1:3000", description: "npm start" }],
    tags: [
      { name: "health", description: "Liveness of the API and its database" },
      { name: "auth", description: "Accounts and bearer tokens" },
      { name: "staff", description: "Staff accounts, created by admins" },
      { name: "products", description: "The catalog" },
      { name: "inventory", description: "Stock, its minimums and its ledger" },
      { name: "carts", description: "Carts, anonymous or a customer's" },
      { name: "checkout", description: "Orders from carts, once per Idempotency-Key" },
      { name: "orders", description: "Orders and their lifecycle" },
      { name: "me", description: "The signed-in customer's own store credit" },
      { name: "customers", description: "Customers' store credit, for staff" },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The `token` that register and login answer with.",
        },
      },
    },
  });
}
