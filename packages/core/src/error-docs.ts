import type { ErrorCode } from "./error.ts";

/**
 * When each error code is answered, in words for people: the README's error table and the OpenAPI
 * document's error responses are both this text, and a test holds the README to it. Kept apart
 * from the registry so that no handler bundle carries it.
 */
export const whenAnswered: Record<ErrorCode, string> = {
  VALIDATION_FAILED:
    "a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`",
  MALFORMED_JSON: "the body is not JSON",
  UNSUPPORTED_MEDIA_TYPE:
    "a body with a content-type other than JSON, or with a content-encoding (gzip, ...)",
  MALFORMED_PATH: "the path is not valid percent-encoding",
  INVALID_CURSOR: "a pagination cursor this API did not issue",
  CART_EMPTY: "checkout of a cart with no items",
  WEAK_PASSWORD:
    "register, `POST /staff`, `POST /auth/password-reset/confirm` or `POST /me/password` with a password zxcvbn scores below 3 of 4 (common passwords, dictionary words, keyboard walks, repeats, dates, the account's own email or name); `details: {warning, suggestions}` say why in English (`warning` may be null); nothing changed, a reset token stays usable",
  INVALID_RESET_TOKEN:
    "`POST /auth/password-reset/confirm` with a token that was used, is older than 30 minutes, is unknown, or belongs to a disabled account; nothing changed",
  INVALID_SIGNATURE:
    "`POST /webhooks/stripe` without a `Stripe-Signature` header, with one that does not match the body and `STRIPE_WEBHOOK_SECRET` (or is older than 5 minutes), or while Stripe is not configured; nothing changed",
  UNAUTHENTICATED: "protected route without a token, or a malformed, forged or expired one",
  INVALID_CREDENTIALS:
    "login with an unknown email, a wrong password or a disabled account (the same answer for all three); `POST /me/password` with a wrong `currentPassword`",
  REFRESH_TOKEN_REUSED:
    "`POST /auth/refresh` with a refresh token that was already exchanged: it was copied, so every token of that login is revoked and the user signs in again",
  INSUFFICIENT_FUNDS:
    "checkout with store credit, or a wallet debit, that the balance does not cover; `details: {balanceCents, requiredCents}`; nothing changed",
  FORBIDDEN: "a valid token whose role may not do this",
  NOT_A_VERIFIED_BUYER:
    "`POST /products/{sku}/reviews` by a customer without a delivered order holding that SKU; nothing written",
  NOT_FOUND:
    "no such route, product, cart, order or promotion code, or one that belongs to someone else",
  METHOD_NOT_ALLOWED: "a known path with another method (`Allow` header lists them)",
  EMAIL_TAKEN: "register or staff creation with an email in use (case-insensitive)",
  REVIEW_EXISTS: "a second review of one product by one customer; the first stays as it is",
  SKU_EXISTS: "a product with that SKU exists",
  PROMOTION_EXISTS: "a promotion with that code exists (codes are matched case-insensitively)",
  PROMOTION_INACTIVE:
    "applying or redeeming a promotion before its `startsAt`, from its `endsAt` on, or while it is not `active`; `details: {code, active, startsAt, endsAt}`; nothing changed",
  PROMOTION_MIN_SUBTOTAL:
    "applying or redeeming a promotion on a cart whose subtotal is under its `minSubtotalCents`; `details: {code, minSubtotalCents, subtotalCents}`; nothing changed",
  PROMOTION_EXHAUSTED:
    "applying or redeeming a promotion whose `usageLimit` is reached, or lowering `usageLimit` below the uses taken; `details: {code, used, usageLimit}`; nothing changed",
  PROMOTION_ALREADY_USED:
    "applying or redeeming a promotion that this customer's orders (not cancelled) already carry `perCustomerLimit` times; `details: {code, perCustomerLimit}`; nothing changed",
  INSUFFICIENT_STOCK:
    "cart: `details: {sku, requested, available}`; adjustment below 0: the same; checkout: `details: {lines: [{sku, requested, available}]}` listing every short line",
  CART_CLOSED: "changing or checking out a cart that is already an order",
  PRICE_CHANGED:
    "checkout with an `expectedTotalCents` other than the order's total, or of a cart with a product whose currency changed since its line was set; `details: {cartId, expectedTotalCents, totalCents, currency}`; nothing changed",
  PURCHASE_LIMIT:
    "a cart line or a checkout that would give one customer more units of a SKU than its `maxPerCustomer`, counting their orders that are not cancelled; `details: {sku, limit, alreadyBought, requested}`; nothing changed",
  NOT_YET_AVAILABLE:
    "putting in a cart, or checking out, a product before its `availableFrom`; `details: {sku, availableFrom}`; nothing changed",
  CART_LINE_LIMIT: "more than 100 different products in one cart",
  CURRENCY_MISMATCH:
    "products priced in different currencies in one cart, paying with store credit for a cart in another currency than the wallet's, or a promotion in another currency than the cart's; nothing changed",
  LAST_ADMIN:
    "`PATCH /staff/{id}` that would demote or disable the only active admin; nothing changed",
  INVALID_STATE:
    "a step the order's status does not allow: cancelling one that is `shipped`, `delivered` or `cancelled`, shipping one that is not `confirmed`, delivering one that is not `shipped`, releasing one that is not `on_hold`; `details: {orderId, status, allowed}`",
  PAYMENT_METHOD_UNAVAILABLE:
    "checkout by card while Stripe is not configured (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`); nothing changed",
  STOCK_LIMIT_EXCEEDED: "an adjustment that would take stock above 1,000,000,000",
  BODY_TOO_LARGE: "a body over `MAX_BODY_BYTES` (64 KiB)",
  IDEMPOTENCY_KEY_REUSED: "an `Idempotency-Key` reused with a different body",
  TOO_MANY_ATTEMPTS:
    "more failed logins than `LOGIN_FAILURES_PER_EMAIL` (5) for one email or `LOGIN_FAILURES_PER_ADDRESS` (20) from one source address in 15 minutes, more registrations than `REGISTRATIONS_PER_ADDRESS_PER_HOUR` (50) from one address in an hour, more password-reset requests than `RESET_REQUESTS_PER_EMAIL_PER_HOUR` (3) for one email in an hour; no password is checked; `Retry-After` and `details: {retryAfterSeconds}` say when one more is let through",
  INTERNAL_ERROR: "a bug; logged with its stack, nothing internal is returned",
  SERVICE_UNAVAILABLE:
    "the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it)",
  PAYMENT_PROVIDER_UNAVAILABLE:
    "checkout by card when Stripe cannot be reached: the order exists and holds its stock (`details: {orderId}`); the same request with the same `Idempotency-Key` retries the payment, and an order left unpaid is cancelled after `PAYMENT_WINDOW_MINUTES`",
};
