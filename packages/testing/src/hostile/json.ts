/** Walking and editing the JSON bodies that hostile requests are made from. */

export type Json = { [key: string]: unknown };

export type JsonType = "string" | "number" | "boolean" | "null" | "array" | "object";

/** Paths (as key lists) of every field of a JSON value, nested ones included. */
export function fieldPaths(value: unknown, prefix: string[] = []): string[][] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    [...prefix, k],
    ...fieldPaths(v, [...prefix, k]),
  ]);
}

/** Paths of the objects (not arrays) inside a JSON value, the root included. */
export function objectPaths(value: unknown, prefix: string[] = []): string[][] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

export function nodeAt(root: unknown, at: string[]): Record<string, unknown> | undefined {
  let node: unknown = root;
  for (const key of at) {
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node && typeof node === "object" ? (node as Record<string, unknown>) : undefined;
}

export const valueAt = (root: unknown, at: string[]): unknown =>
  nodeAt(root, at.slice(0, -1))?.[at.at(-1) as string];

/** Every field of a JSON value with the JSON type of its value, nested fields included. */
export function typedFields(value: unknown): { at: string[]; type: JsonType }[] {
  return fieldPaths(value).map((at) => {
    const v = valueAt(value, at);
    const type = Array.isArray(v) ? "array" : v === null ? "null" : (typeof v as JsonType);
    return { at, type };
  });
}

/** Paths of the fields whose value is a string. */
export const stringFields = (value: unknown): string[][] =>
  typedFields(value)
    .filter(({ type }) => type === "string")
    .map(({ at }) => at);

/** Sets an own property, even `__proto__`, so that JSON.stringify sends it. */
export function setOwn(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of the body with the field at `at` set to `value` (an own property, even `__proto__`). */
export function withField(body: Json, at: string[], value: unknown): Json {
  const copy = structuredClone(body);
  const parent = nodeAt(copy, at.slice(0, -1));
  if (parent) setOwn(parent, at.at(-1) as string, value);
  return copy;
}
