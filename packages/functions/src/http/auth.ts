import * as Auth from "@flashstock/core/auth/index";
import * as Reset from "@flashstock/core/auth/reset";
import * as Sessions from "@flashstock/core/auth/session";
import { config } from "../lib/config.ts";
import { route, tokenConfig } from "../lib/http.ts";
import { db, emailSender } from "../lib/resources.ts";

export const register = route({
  access: "public",
  summary: "Create a customer account and sign in",
  body: Auth.RegisterInput,
  returns: { status: 201, body: Sessions.Session },
  errors: ["EMAIL_TAKEN", "WEAK_PASSWORD", "TOO_MANY_ATTEMPTS"],
}).handler(async ({ body, sourceIp }) =>
  Sessions.startSession(db(), tokenConfig(), await Auth.register(db(), body, attempt(sourceIp))),
);

const attempt = (address: string | undefined) => ({ address, limits: config().attemptLimits });

export const login = route({
  access: "public",
  summary: "Sign in with email and password",
  body: Auth.LoginInput,
  returns: { status: 200, body: Sessions.Session },
  errors: ["INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"],
}).handler(async ({ body, sourceIp }) =>
  Sessions.startSession(db(), tokenConfig(), await Auth.login(db(), body, attempt(sourceIp))),
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

export const requestPasswordReset = route({
  access: "public",
  summary:
    "Email a single-use link to reset the password (the same answer whether or not the account exists)",
  body: Reset.PasswordResetRequest,
  returns: { status: 202, body: Reset.ResetAccepted },
  errors: ["TOO_MANY_ATTEMPTS"],
}).handler(({ body, sourceIp }) =>
  Reset.requestPasswordReset(db(), emailSender(), body, {
    ...attempt(sourceIp),
    webUrl: config().webUrl,
  }),
);

export const confirmPasswordReset = route({
  access: "public",
  summary: "Set a new password with the emailed token, ending every login, and sign in",
  body: Reset.PasswordResetConfirm,
  returns: { status: 200, body: Sessions.Session },
  errors: ["INVALID_RESET_TOKEN", "WEAK_PASSWORD"],
}).handler(({ body }) => Reset.confirmPasswordReset(db(), tokenConfig(), body));
