import * as z from "./zod.ts";

/**
 * Characters a name must not hold: C0 and C1 controls and DEL (a CR/LF in a product name reached an
 * email subject), bidirectional embeddings, overrides, isolates and marks (they make a name read
 * as something else: "Ann\u202Egpj.exe" shows as "Annexe.jpg"), and zero-width characters and
 * the BOM (two names that look the same). The zero-width joiner is allowed: emoji sequences such
 * as a family are built with it.
 */
const unsafeInName =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u001F\u007F-\u009F\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

export const hasUnsafeNameCharacter = (s: string) => unsafeInName.test(s);

/** A person's, product's or carrier's name: trimmed, 1-`max` characters, none of the above. */
export const SafeName = (max: number) =>
  z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(max),
    z.refine((s) => !unsafeInName.test(s), {
      message: "must not hold control, bidirectional-override or zero-width characters",
    }),
  );

/**
 * What free text must not hold: the same characters as a name, except the line breaks and tabs a
 * paragraph needs.
 */
const unsafeInText =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

/** A review's body and the like: trimmed, 1-`max` characters, line breaks allowed. */
export const SafeText = (max: number) =>
  z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(max),
    z.refine((s) => !unsafeInText.test(s), {
      message: "must not hold control, bidirectional-override or zero-width characters",
    }),
  );
