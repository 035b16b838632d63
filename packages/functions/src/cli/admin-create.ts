/**
 * `npm run admin:create -- --stage <stage> --email <email> [--name <name>]` (or with DATABASE_URL
 * instead of --stage): the first admin of a deployed stage, created or, if the email has an
 * account, promoted to an active admin with the new password. The password is read from standard
 * input (piped) or asked for at a prompt that does not echo it; never from the command line, where
 * it would stay in the shell's history and the process list.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { AdminAccountInput, createOrPromoteAdmin } from "@flashstock/core/auth/staff";
import { createDb } from "@flashstock/core/db/index";
import { DomainError } from "@flashstock/core/error";
import { secret } from "../lib/config.ts";
import { enterStage, failWith } from "./stage.ts";

const USAGE =
  "usage: npm run admin:create -- [--stage <stage>] --email <email> [--name <name>]   (without --stage: DATABASE_URL; the password from standard input or a prompt)";
const fail = failWith(USAGE);

/** Piped: the first line of standard input. A terminal: a prompt that echoes nothing. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text.split(/\r?\n/)[0] ?? "";
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stdout.write("Password for the admin: ");
  output._writeToOutput = () => {};
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  rl.close();
  process.stdout.write("\n");
  return answer;
}

async function main() {
  let values: { stage?: string; email?: string; name?: string } = {};
  try {
    values = parseArgs({
      options: {
        stage: { type: "string" },
        email: { type: "string" },
        name: { type: "string" },
      },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (!values.email) fail("--email is required");
  enterStage(values.stage, fail);

  const parsed = AdminAccountInput.safeParse({
    email: values.email,
    name: values.name ?? "Admin",
    password: await readPassword(),
  });
  if (!parsed.success) {
    return fail(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const db = createDb({ url: secret("DatabaseUrl"), driver: "pg", max: 1 });
  try {
    const { user, created } = await createOrPromoteAdmin(db, parsed.data);
    const where = values.stage ? `stage ${values.stage}` : "DATABASE_URL";
    console.log(
      `${where}: ${created ? "created" : "promoted"} admin ${user.email} (${user.id})${created ? "" : "; its other logins ended"}`,
    );
  } finally {
    await db.end();
  }
}

main().catch((err) => {
  console.error(`admin:create failed: ${err instanceof Error ? err.message : err}`);
  // A refused password says why, as the API does in WEAK_PASSWORD's details.
  if (err instanceof DomainError && err.code === "WEAK_PASSWORD") {
    const { warning, suggestions } = err.details as {
      warning: string | null;
      suggestions: string[];
    };
    for (const line of [warning, ...suggestions]) if (line) console.error(`  ${line}`);
  }
  process.exit(1);
});
