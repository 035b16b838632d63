import * as Auth from "@flashstock/core/auth/index";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const create = route({
  access: ["admin"],
  summary: "Create a staff account (stock manager, ops or admin)",
  body: Auth.StaffInput,
  returns: { status: 201, body: Auth.User },
  errors: ["EMAIL_TAKEN"],
}).handler(({ body }) => Auth.createUser(db(), body));
