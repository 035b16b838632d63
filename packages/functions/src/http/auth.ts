import * as Auth from "@flashstock/core/auth/index";
import * as Sessions from "@flashstock/core/auth/session";
import { route, tokenConfig } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const register = route({
  access: "public",
  summary: "Create a customer account and sign in",
  body: Auth.RegisterInput,
  returns: { status: 201, body: Sessions.Session },
  errors: ["EMAIL_TAKEN"],
}).handler(async ({ body }) =>
  Sessions.startSession(db(), tokenConfig(), await Auth.register(db(), body)),
);

export const login = route({
  access: "public",
  summary: "Sign in with email and password",
  body: Auth.LoginInput,
  returns: { status: 200, body: Sessions.Session },
  errors: ["INVALID_CREDENTIALS"],
}).handler(async ({ body }) =>
  Sessions.startSession(db(), tokenConfig(), await Auth.login(db(), body)),
);

export const refresh = route({
  access: "public",
  summary: "Exchange a refresh token for a new access token and the next refresh token",
  body: Sessions.RefreshInput,
  returns: { status: 200, body: Sessions.TokenPair },
  errors: ["UNAUTHENTICATED", "REFRESH_TOKEN_REUSED"],
}).handler(({ body }) => Sessions.refreshSession(db(), tokenConfig(), body));

export const logout = route({
  access: "public",
  summary: "End the login of a refresh token",
  body: Sessions.RefreshInput,
  returns: { status: 204 },
}).handler(({ body }) => Sessions.endSession(db(), body));
