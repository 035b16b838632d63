import * as Sessions from "@flashstock/core/auth/session";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const get = route({
  access: "authenticated",
  summary: "The caller's account",
  returns: { status: 200, body: Sessions.Session.shape.user },
}).handler(({ principal }) => Sessions.getMe(db(), principal));

export const update = route({
  access: "authenticated",
  summary: "Change the caller's name",
  body: Sessions.UpdateMeInput,
  returns: { status: 200, body: Sessions.Session.shape.user },
}).handler(({ body, principal }) => Sessions.updateMe(db(), principal, body));

export const changePassword = route({
  access: "authenticated",
  summary: "Change the caller's password, ending every other login of theirs",
  body: Sessions.ChangePasswordInput,
  returns: { status: 204 },
  errors: ["INVALID_CREDENTIALS", "WEAK_PASSWORD"],
}).handler(({ body, principal }) => Sessions.changePassword(db(), principal, body));
