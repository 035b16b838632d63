/**
 * zod for the whole project, in its "mini" build: the same validation as classic zod, written as
 * functions (`z.optional(s)`, `s.check(z.maxLength(9))`) instead of chained methods, so that a
 * bundler keeps only what is used. A handler bundle carries about 36 KB of it instead of 100 KB,
 * room that the 300 KB cold-start budget needs. zod/mini ships no error messages: the English
 * ones are loaded here, once, for every schema.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
