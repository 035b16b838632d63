import * as Auth from "@flashstock/core/auth/index";
import { route, tokenConfig } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const register = route({
  access: "public",
  summary: "Create a customer account and sign in",
  body: Auth.RegisterInput,
  returns: { status: 201, body: Auth.Session },
  errors: ["EMAIL_TAKEN"],
}).handler(async ({ body }) => {
  const customer = await Auth.register(db(), body);
  return { customer, token: await Auth.issueToken(tokenConfig(), customer) };
});

export const login = route({
  access: "public",
  summary: "Sign in with email and password",
  body: Auth.LoginInput,
  returns: { status: 200, body: Auth.Session },
  errors: ["INVALID_CREDENTIALS"],
}).handler(async ({ body }) => {
  const customer = await Auth.login(db(), body);
  return { customer, token: await Auth.issueToken(tokenConfig(), customer) };
});
