import * as Auth from "@flashstock/core/auth/index";
import { created, route, tokenConfig } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const register = route({ access: "public", body: Auth.RegisterInput }).handler(
  async ({ body }) => {
    const customer = await Auth.register(db(), body);
    return created({ customer, token: await Auth.issueToken(tokenConfig(), customer) });
  },
);

export const login = route({ access: "public", body: Auth.LoginInput }).handler(
  async ({ body }) => {
    const customer = await Auth.login(db(), body);
    return { customer, token: await Auth.issueToken(tokenConfig(), customer) };
  },
);
