import * as Auth from "@flashstock/core/auth/index";
import { created, route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const create = route({ access: ["admin"], body: Auth.StaffInput }).handler(
  async ({ body }) => created(await Auth.createUser(db(), body)),
);
