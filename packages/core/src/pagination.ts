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
