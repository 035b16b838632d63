import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const check = route({
  access: "public",
  summary: "Whether the API and its database answer",
  returns: { status: 200, body: z.object({ status: z.literal("ok") }) },
}).handler(async () => {
  await db().query("SELECT 1");
  return { status: "ok" as const };
});
