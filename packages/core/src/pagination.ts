import { DomainError } from "./error.ts";
import * as z from "./zod.ts";

/** Keyset cursors are opaque to clients: base64url of the JSON key of the last item served. */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor<T extends z.ZodMiniType>(cursor: string, shape: T): z.infer<T> {
  try {
    return shape.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw new DomainError("INVALID_CURSOR", { cursor });
  }
}

export const Limit = z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20);

/** One page of a keyset-paginated list: `nextCursor` is null on the last page. */
export const Page = <T extends z.ZodMiniType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.nullable(z.string()) });
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * The key of the last item of a newest-first list ordered by (created_at, id). Postgres has no
 * year 0, so no cursor of ours holds one.
 */
export const CreatedAtIdCursor = z.tuple([
  z.iso.datetime().check(z.refine((at) => !at.startsWith("0000-"), "not a Postgres timestamp")),
  z.uuid(),
]);

/** A page of a (created_at, id) list read with `limit + 1` rows: the extra row means there is more. */
export function createdAtIdPage<T extends { createdAt: string; id: string }>(
  rows: T[],
  limit: number,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null,
  };
}
