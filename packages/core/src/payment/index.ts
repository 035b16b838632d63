/**
 * Store credit: a customer's wallet in the shop's currency and its ledger. The balance changes only
 * through apply_wallet_delta.sql, one conditional update per change (like stock), so it never goes
 * below zero whatever runs at the same time, and `sum(transactions) = balance` always holds.
 */
import { DEFAULT_CURRENCY } from "../catalog/index.ts";
import { isoInstant } from "../db/instant.ts";
import type { Db, Queryable } from "../db/types.ts";
import { DomainError, notFound } from "../error.ts";
import { decodeCursor, encodeCursor, Limit } from "../pagination.ts";
import * as z from "../zod.ts";

export const WalletReason = z.enum(["top_up", "goodwill", "correction", "order_payment", "refund"]);
export type WalletReason = z.infer<typeof WalletReason>;

export const WalletTransaction = z.object({
  id: z.int(),
  at: z.iso.datetime(),
  amountCents: z.int(),
  reason: WalletReason,
  orderId: z.nullable(z.uuid()),
  note: z.nullable(z.string()),
  balanceAfterCents: z.int(),
});
export type WalletTransaction = z.infer<typeof WalletTransaction>;

/** A wallet and a page of its transactions, newest first. */
export const Wallet = z.object({
  balanceCents: z.int(),
  currency: z.string(),
  items: z.array(WalletTransaction),
  nextCursor: z.nullable(z.string()),
});
export type Wallet = z.infer<typeof Wallet>;

export const WalletPageInput = z.object({
  limit: Limit,
  cursor: z.optional(z.string().check(z.maxLength(500))),
});
export type WalletPageInput = z.infer<typeof WalletPageInput>;

/** The largest single change: far above any basket, far below where sums stop being exact. */
export const MAX_WALLET_CHANGE_CENTS = 100_000_000;

/** What staff may do to a wallet by hand; payments and refunds are the system's. */
export const WalletChangeInput = z.strictObject({
  amountCents: z.int().check(
    z.minimum(-MAX_WALLET_CHANGE_CENTS),
    z.maximum(MAX_WALLET_CHANGE_CENTS),
    z.refine((a) => a !== 0, "must not be 0"),
  ),
  reason: z.enum(["top_up", "goodwill", "correction"]),
  note: z.optional(z.string().check(z.trim(), z.maxLength(1000))),
});
export type WalletChangeInput = z.infer<typeof WalletChangeInput>;

export const WalletChange = z.object({ balanceCents: z.int(), transaction: WalletTransaction });
export type WalletChange = z.infer<typeof WalletChange>;

const transactionColumns = `t.id, ${isoInstant("t.at")} AS at,
  t.amount_cents AS "amountCents", t.reason, t.order_id AS "orderId", t.note,
  t.balance_after_cents AS "balanceAfterCents"`;

/** A wallet with its newest transactions first; a customer who never had one has 0. */
export async function getWallet(
  db: Queryable,
  customerId: string,
  input: WalletPageInput,
): Promise<Wallet> {
  const before = input.cursor ? decodeCursor(input.cursor, z.tuple([z.int()]))[0] : null;
  const wallet = await db.query<{ balanceCents: number; currency: string }>(
    `SELECT balance_cents AS "balanceCents", currency FROM wallets WHERE customer_id = $1`,
    [customerId],
  );
  const { rows } = await db.query<WalletTransaction>(
    `SELECT ${transactionColumns} FROM wallet_transactions t
      WHERE t.customer_id = $1 AND ($2::bigint IS NULL OR t.id < $2)
      ORDER BY t.id DESC LIMIT $3`,
    [customerId, before, input.limit + 1],
  );
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return {
    balanceCents: wallet.rows[0]?.balanceCents ?? 0,
    currency: wallet.rows[0]?.currency ?? DEFAULT_CURRENCY,
    items,
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.id]) : null,
  };
}

/** A customer's wallet, for staff: 404 when there is no such customer. */
export async function getCustomerWallet(
  db: Queryable,
  customerId: string,
  input: WalletPageInput,
): Promise<Wallet> {
  await assertCustomer(db, customerId);
  return getWallet(db, customerId, input);
}

async function assertCustomer(db: Queryable, customerId: string): Promise<void> {
  const { rows } = await db.query("SELECT 1 FROM users WHERE id = $1 AND role = 'customer'", [
    customerId,
  ]);
  if (rows.length === 0) throw notFound("Customer", { customerId });
}

/**
 * A top-up, a goodwill credit or a correction by staff, in one transaction with its ledger row. A
 * debit the balance does not cover is refused (402 INSUFFICIENT_FUNDS) and changes nothing.
 */
export async function changeWallet(
  db: Db,
  customerId: string,
  input: WalletChangeInput,
  actorId: string,
): Promise<WalletChange> {
  return db.transaction(async (tx) => {
    await assertCustomer(tx, customerId);
    const { rows } = await tx.query<{ after: number | null }>(
      "SELECT apply_wallet_delta($1, $2, $3, NULL, $4, $5) AS after",
      [customerId, input.amountCents, input.reason, actorId, input.note ?? null],
    );
    if (rows[0]?.after == null) {
      const balance = await tx.query<{ balance: number }>(
        "SELECT balance_cents AS balance FROM wallets WHERE customer_id = $1",
        [customerId],
      );
      throw new DomainError("INSUFFICIENT_FUNDS", {
        balanceCents: balance.rows[0]?.balance ?? 0,
        requiredCents: -input.amountCents,
      });
    }
    const transaction = await tx.query<WalletTransaction>(
      `SELECT ${transactionColumns} FROM wallet_transactions t
        WHERE t.customer_id = $1 ORDER BY t.id DESC LIMIT 1`,
      [customerId],
    );
    return { balanceCents: rows[0].after, transaction: transaction.rows[0] as WalletTransaction };
  });
}
