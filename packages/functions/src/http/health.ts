import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const check = route({ access: "public" }).handler(async () => {
  await db().query("SELECT 1");
  return { status: "ok" };
});
