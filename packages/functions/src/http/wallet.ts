import * as Payment from "@flashstock/core/payment/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const CustomerPath = z.object({ id: z.uuid({ message: "must be a customer id (UUID)" }) });
const staff = ["ops", "admin"] as const;

export const mine = route({
  access: ["customer"],
  summary: "The caller's store credit and its transactions, newest first",
  query: Payment.WalletPageInput,
  returns: { status: 200, body: Payment.Wallet },
  errors: ["INVALID_CURSOR"],
}).handler(({ query, principal }) => Payment.getWallet(db(), principal.userId, query));

export const ofCustomer = route({
  access: staff,
  summary: "A customer's store credit and its transactions, newest first",
  path: CustomerPath,
  query: Payment.WalletPageInput,
  returns: { status: 200, body: Payment.Wallet },
  errors: ["NOT_FOUND", "INVALID_CURSOR"],
}).handler(({ path, query }) => Payment.getCustomerWallet(db(), path.id, query));

export const change = route({
  access: staff,
  summary: "Top up, credit as goodwill or correct a customer's store credit",
  path: CustomerPath,
  body: Payment.WalletChangeInput,
  returns: { status: 201, body: Payment.WalletChange },
  errors: ["NOT_FOUND", "INSUFFICIENT_FUNDS"],
}).handler(({ path, body, principal }) =>
  Payment.changeWallet(db(), path.id, body, principal.userId),
);
