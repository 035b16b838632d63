import * as Auth from "@flashstock/core/auth/index";
import * as Staff from "@flashstock/core/auth/staff";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const create = route({
  access: ["admin"],
  summary: "Create a staff account (stock manager, ops or admin)",
  body: Auth.StaffInput,
  returns: { status: 201, body: Auth.User },
  errors: ["EMAIL_TAKEN", "WEAK_PASSWORD"],
}).handler(({ body }) => Auth.createUser(db(), body));

export const list = route({
  access: ["admin"],
  summary: "Every staff account, with whether it is disabled",
  returns: { status: 200, body: Staff.StaffList },
}).handler(() => Staff.listStaff(db()));

export const update = route({
  access: ["admin"],
  summary: "Change a user's role or disable them; their logins end at once",
  path: z.object({ id: z.uuid({ message: "must be a user id (UUID)" }) }),
  body: Staff.UpdateStaffInput,
  returns: { status: 200, body: Staff.StaffUser },
  errors: ["NOT_FOUND", "LAST_ADMIN"],
}).handler(({ path, body }) => Staff.updateStaff(db(), path.id, body));
