/**
 * How easily a new password is guessed, estimated by zxcvbn (`@zxcvbn-ts/core` with its common and
 * English dictionaries: leaked passwords, words, names, keyboard walks, dates, repeats, l33t). A
 * length rule alone let `password`, `12345678` and the account's own email through.
 *
 * The dictionaries are about 1.6 MB of code and take some 0.3-0.7 s to index, so they are loaded on
 * the first password this process scores, never at import: a login or refresh in the same Lambda
 * bundle starts as fast as before. Deployed, they are installed beside the bundle (infra/topology.ts)
 * rather than bundled into it.
 */
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { DomainError } from "../error.ts";

/** zxcvbn's 0-4 scale; 3 is "safely unguessable: moderate protection from offline slow-hash attacks". */
export const MIN_PASSWORD_SCORE = 3;

let checker: Promise<ZxcvbnFactory> | undefined;

function passwordChecker(): Promise<ZxcvbnFactory> {
  checker ??= (async () => {
    const [{ ZxcvbnFactory }, common, english] = await Promise.all([
      import("@zxcvbn-ts/core"),
      import("@zxcvbn-ts/language-common"),
      import("@zxcvbn-ts/language-en"),
    ]);
    return new ZxcvbnFactory({
      translations: english.translations,
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...english.dictionary },
    });
  })();
  return checker;
}

/**
 * The words an attacker who knows the account tries first: the email, its local part, the name and
 * each word of it. zxcvbn matches user inputs as whole dictionary words, so the parts are listed too.
 */
export function personalWords(account: { email: string; name?: string }): string[] {
  const words = [account.email, account.email.split("@")[0] ?? ""];
  if (account.name) words.push(account.name, ...account.name.split(/[\s\p{P}]+/u));
  return [...new Set(words.map((w) => w.trim().toLowerCase()).filter((w) => w.length >= 3))];
}

/**
 * Refuses a password that scores below MIN_PASSWORD_SCORE for this account with 400 WEAK_PASSWORD,
 * `details: {warning, suggestions}` in zxcvbn's English words (`warning` is null when zxcvbn names
 * no single cause). Called before anything is hashed or written.
 */
export async function assertStrongPassword(
  password: string,
  account: { email: string; name?: string },
): Promise<void> {
  const { score, feedback } = (await passwordChecker()).check(password, personalWords(account));
  if (score >= MIN_PASSWORD_SCORE) return;
  throw new DomainError("WEAK_PASSWORD", {
    warning: feedback.warning ?? null,
    suggestions: feedback.suggestions,
  });
}
