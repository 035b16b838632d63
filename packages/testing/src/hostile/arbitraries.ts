/**
 * fast-check arbitraries of hostile input: strings, numbers, bodies, queries, path segments and
 * headers, and whole requests to a route in which every part is either the template's valid value
 * or one of these.
 */
import { randomUUID } from "node:crypto";
import type { Role } from "@flashstock/core/auth/index";
import fc from "fast-check";
import type { HttpRoute } from "../../../../infra/topology.ts";
import { readable, type Sent } from "./contract.ts";
import { fieldPaths, type Json, nodeAt, objectPaths, setOwn } from "./json.ts";
import {
  BAD_IDEMPOTENCY_KEYS,
  badAuthorizations,
  CONTENT_TYPES,
  cursorOf,
  HOSTILE_NUMBERS,
  JUNK_SEGMENTS,
  MALFORMED_JSON,
  QUERY_KEYS,
  RAW_QUERIES,
  SPECIAL_STRINGS,
  SQL,
  UNKNOWN_KEYS,
} from "./values.ts";
import { fillPath, paramNames, ROLES, templateOf, type World } from "./world.ts";

/** Any UTF-16 code unit: NUL, controls and lone surrogates included. */
export const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

export const nastyUnit = fc.oneof(
  codeUnit,
  fc.constantFrom("\u0000", "\uD800", "\uDC00", "'", '"', "\\", "%", "_", ";", "-", "/", "a", " "),
);

/** 10k to 100k characters: over every field's limit, and past the body limit at the top end. */
export const longString = fc
  .record({
    length: fc.integer({ min: 10_000, max: 100_000 }),
    char: fc.constantFrom("a", "é", "😀", "'", "\u0000", "%"),
  })
  .map(({ length, char }) => char.repeat(length));

export const hostileString = fc.oneof(
  fc.string(),
  // fast-check 4 spells the former fc.fullUnicodeString() as a string of "binary" units.
  fc.string({ unit: "binary" }),
  fc.string({ unit: codeUnit }),
  fc.string({ unit: nastyUnit }),
  fc.constantFrom(...SPECIAL_STRINGS, ...SQL),
  longString,
);

export const hostileNumber = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.integer(),
  // NaN and the infinities go out as null: JSON has no spelling for them.
  fc.double(),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.constantFrom(null, true, false, [], {}, [1], { $gt: "" }, "1", "0"),
  fc.jsonValue({ maxDepth: 3, stringUnit: nastyUnit }),
);

const unknownKey = fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ unit: nastyUnit }));

type Mutation =
  | { op: "set"; at: string[]; value: unknown }
  | { op: "delete"; at: string[] }
  | { op: "add"; at: string[]; key: string; value: unknown };

function applyMutations(body: Json, mutations: Mutation[]): unknown {
  const copy = structuredClone(body);
  for (const m of mutations) {
    const parent = nodeAt(copy, m.op === "add" ? m.at : m.at.slice(0, -1));
    if (!parent) continue;
    // Insert copies: fast-check hands out the same `{}` and `[]` constants on every draw, and a
    // later mutation may write into an inserted value, which would change the constant for all
    // later runs and can even put an object inside itself.
    if (m.op === "add") setOwn(parent, m.key, structuredClone(m.value));
    else if (m.op === "set") setOwn(parent, m.at.at(-1) as string, structuredClone(m.value));
    else Reflect.deleteProperty(parent, m.at.at(-1) as string);
  }
  return copy;
}

/** A valid body with one to three fields replaced by hostile values, removed, or added. */
export function mutatedBody(valid: Json): fc.Arbitrary<string> {
  const fields = fieldPaths(valid);
  const objects = objectPaths(valid);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant("set" as const),
        at: fc.constantFrom(...fields),
        value: hostileValue,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.constantFrom(...fields) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("add" as const),
        at: fc.constantFrom(...objects),
        key: unknownKey,
        value: hostileValue,
      }),
    },
  );
  return fc
    .array(mutation, { minLength: 1, maxLength: 3 })
    .map((ms) => JSON.stringify(applyMutations(valid, ms)));
}

/** Nesting deep enough to exhaust a recursive walk, still under the 64 KB body limit. */
export const deeplyNested = fc.oneof(
  fc.integer({ min: 1_000, max: 32_000 }).map((d) => "[".repeat(d) + "]".repeat(d)),
  fc.integer({ min: 1_000, max: 10_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`),
);

/** Any body: mostly the valid one mutated (when there is one), else JSON, junk, bytes or nothing. */
export function rawBody(valid: Json | undefined): fc.Arbitrary<string | Buffer | undefined> {
  const anyBody: fc.WeightedArbitrary<string | Buffer | undefined>[] = [
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.json({ stringUnit: nastyUnit }) },
    { weight: 1, arbitrary: fc.anything().map((v) => fc.stringify(v)) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_JSON) },
    { weight: 1, arbitrary: deeplyNested },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  ];
  return valid
    ? fc.oneof({ weight: 10, arbitrary: mutatedBody(valid) }, ...anyBody)
    : fc.oneof(...anyBody);
}

/** Cursors this API never issued: the encoding of any sort key, or not base64url at all. */
export const cursor = fc.oneof(
  fc.jsonValue({ stringUnit: nastyUnit }).map(cursorOf),
  fc.tuple(hostileValue).map(cursorOf),
  fc.tuple(hostileValue, hostileValue).map(cursorOf),
  fc.string({ unit: nastyUnit }),
);

export const query = fc.oneof(
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string()),
        fc.oneof(hostileString, hostileNumber.map(String), cursor),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc.constantFrom(...RAW_QUERIES),
);

export const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "APPLICATION/JSON",
      "application/json; charset=utf-8",
      "application/merge-patch+json",
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
);

export const idempotencyKey = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constant("fuzz-fixed-key") },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom(...Object.values(BAD_IDEMPOTENCY_KEYS)) },
  { weight: 1, arbitrary: hostileString },
);

/** Mostly the route's own role's token, else another role's, none, or one that must fail. */
export function authorization(w: World, role: Role | undefined): fc.Arbitrary<string | undefined> {
  const tokenOf = (r: Role) => `Bearer ${w.users[r].token}`;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(tokenOf(role ?? "customer")) },
    { weight: 2, arbitrary: fc.constantFrom(...ROLES).map(tokenOf) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(...badAuthorizations(w), `bearer ${w.users.admin.token}`),
        hostileString,
      ),
    },
  );
}

/** Mostly the valid segment, else a known or unknown id, hostile text, junk or SQL. */
export function pathSegment(
  w: World,
  name: string,
  valid: string | undefined,
): fc.Arbitrary<string> {
  const known =
    name === "sku"
      ? [w.sku, w.otherSku, "NO-SUCH-SKU"]
      : [w.cartId, w.anonymousCartId, w.closedCartId, w.orderId, randomUUID()];
  const hostile = [
    { weight: 2, arbitrary: fc.constantFrom(...known).map(encodeURIComponent) },
    {
      weight: 2,
      arbitrary: hostileString.filter((s) => s.isWellFormed()).map(encodeURIComponent),
    },
    { weight: 2, arbitrary: fc.constantFrom(...JUNK_SEGMENTS) },
    { weight: 1, arbitrary: fc.constantFrom(...SQL).map(encodeURIComponent) },
  ];
  return valid
    ? fc.oneof({ weight: 6, arbitrary: fc.constant(encodeURIComponent(valid)) }, ...hostile)
    : fc.oneof(...hostile);
}

/** Any request to the route: every part either the template's valid value or something hostile. */
export function hostileRequest(w: World, route: HttpRoute): fc.Arbitrary<Sent> {
  const tpl = templateOf(route);
  const params = tpl.path?.(w);
  const names = paramNames(route.path);
  return fc
    .record({
      segments: fc.tuple(...names.map((n) => pathSegment(w, n, params?.[n]))),
      query: fc.oneof(
        { weight: 2, arbitrary: fc.constant(tpl.query ?? "") },
        { weight: 3, arbitrary: query },
      ),
      authorization: authorization(w, tpl.role),
      contentType,
      idempotencyKey,
      body: rawBody(tpl.body?.(w)),
    })
    .map(
      ({
        segments,
        query: q,
        authorization: auth,
        contentType: type,
        idempotencyKey: key,
        body,
      }) => {
        let i = 0;
        const path = fillPath(route.path, () => segments[i++] as string);
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.authorization = auth;
        if (type !== undefined && body !== undefined) headers["content-type"] = type;
        if (key !== undefined) headers["idempotency-key"] = key;
        return readable({ method: route.method, url: q ? `${path}?${q}` : path, headers, body });
      },
    );
}
