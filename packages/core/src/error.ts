/**
 * Every failure the API can answer with, in one registry: a stable code (part of the public API,
 * UPPER_SNAKE), its kind, and the message it carries unless the place that raises it says more.
 *
 * The kind says what sort of failure it is and fixes the HTTP status (`statusOfKind`), so the
 * domain raises codes and never speaks HTTP. SQL raises the same codes (`RAISE ... USING ERRCODE =
 * 'FS409', MESSAGE = 'CART_CLOSED'`, the SQLSTATE carrying the status); a test holds every RAISE
 * in the SQL, and the README's error table, to this registry.
 */
export const statusOfKind = {
  invalid: 400,
  unauthenticated: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  too_many_requests: 429,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorKind = keyof typeof statusOfKind;

interface ErrorDefinition {
  kind: ErrorKind;
  /** `{name}` is replaced by the detail of that name. */
  message: string;
}

export const errorRegistry = {
  VALIDATION_FAILED: { kind: "invalid", message: "The request {in} is invalid" },
  MALFORMED_JSON: { kind: "invalid", message: "The request body is not valid JSON" },
  UNSUPPORTED_MEDIA_TYPE: {
    kind: "invalid",
    message: "The body must be application/json and not content-encoded",
  },
  MALFORMED_PATH: { kind: "invalid", message: "The path is not valid percent-encoding" },
  INVALID_CURSOR: { kind: "invalid", message: "The cursor is not one this API issued" },
  CART_EMPTY: { kind: "invalid", message: "The cart has no items" },
  WEAK_PASSWORD: {
    kind: "invalid",
    message: "This password is too easy to guess: choose a longer one, of uncommon words",
  },
  INVALID_RESET_TOKEN: {
    kind: "invalid",
    message: "This reset link is used, expired or unknown: ask for a new one",
  },
  INVALID_SIGNATURE: {
    kind: "invalid",
    message: "The webhook's signature is missing or does not match its body",
  },
  UNAUTHENTICATED: { kind: "unauthenticated", message: "A valid bearer token is required" },
  INVALID_CREDENTIALS: { kind: "unauthenticated", message: "Email or password is wrong" },
  REFRESH_TOKEN_REUSED: {
    kind: "unauthenticated",
    message: "This refresh token was already used: its login is ended, sign in again",
  },
  INSUFFICIENT_FUNDS: {
    kind: "payment_required",
    message: "The store credit does not cover this: {balanceCents} of {requiredCents}",
  },
  FORBIDDEN: { kind: "forbidden", message: "Your role does not allow this action" },
  NOT_A_VERIFIED_BUYER: {
    kind: "forbidden",
    message: "Only a customer who received this product can review it",
  },
  NOT_FOUND: { kind: "not_found", message: "Not found" },
  METHOD_NOT_ALLOWED: { kind: "method_not_allowed", message: "Use {allow}" },
  EMAIL_TAKEN: { kind: "conflict", message: "An account with this email already exists" },
  REVIEW_EXISTS: { kind: "conflict", message: "You have already reviewed this product" },
  SKU_EXISTS: { kind: "conflict", message: "A product with SKU {sku} exists" },
  PROMOTION_EXISTS: { kind: "conflict", message: "A promotion with code {code} exists" },
  PROMOTION_INACTIVE: {
    kind: "conflict",
    message: "Promotion {code} is not running now",
  },
  PROMOTION_MIN_SUBTOTAL: {
    kind: "conflict",
    message: "Promotion {code} needs a subtotal of at least {minSubtotalCents}",
  },
  PROMOTION_EXHAUSTED: {
    kind: "conflict",
    message: "Every use of promotion {code} is taken",
  },
  PROMOTION_ALREADY_USED: {
    kind: "conflict",
    message: "You have used promotion {code} as often as it allows",
  },
  INSUFFICIENT_STOCK: { kind: "conflict", message: "Not enough stock" },
  CART_CLOSED: { kind: "conflict", message: "The cart has already been checked out" },
  PRICE_CHANGED: {
    kind: "conflict",
    message: "The order's total is not the one shown: review the cart and check out again",
  },
  PURCHASE_LIMIT: {
    kind: "conflict",
    message: "No customer may hold more than {limit} of {sku}",
  },
  NOT_YET_AVAILABLE: {
    kind: "conflict",
    message: "This product cannot be bought before {availableFrom}",
  },
  CART_LINE_LIMIT: { kind: "conflict", message: "A cart holds at most {max} different products" },
  CURRENCY_MISMATCH: {
    kind: "conflict",
    message: "All items of a cart or an order must be priced in one currency",
  },
  LAST_ADMIN: {
    kind: "conflict",
    message: "The last active admin cannot be demoted or disabled",
  },
  INVALID_STATE: { kind: "conflict", message: "An order that is {status} cannot be {action}" },
  PAYMENT_METHOD_UNAVAILABLE: {
    kind: "conflict",
    message: "This shop does not take payment by {method} right now",
  },
  STOCK_LIMIT_EXCEEDED: { kind: "conflict", message: "Stock cannot exceed {max} units" },
  BODY_TOO_LARGE: { kind: "too_large", message: "The body exceeds {limit} bytes" },
  IDEMPOTENCY_KEY_REUSED: {
    kind: "unprocessable",
    message: "This Idempotency-Key was already used with a different request body",
  },
  TOO_MANY_ATTEMPTS: {
    kind: "too_many_requests",
    message: "Too many attempts: try again in {retryAfterSeconds} seconds",
  },
  INTERNAL_ERROR: {
    kind: "internal",
    message: "Something went wrong on our side; it has been logged",
  },
  SERVICE_UNAVAILABLE: {
    kind: "unavailable",
    message:
      "The database is unavailable; retry the request (with the same Idempotency-Key for checkout)",
  },
  PAYMENT_PROVIDER_UNAVAILABLE: {
    kind: "unavailable",
    message:
      "The payment provider could not be reached; retry with the same Idempotency-Key (the order {orderId} keeps its stock until its payment window ends)",
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorRegistry;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(errorRegistry, code);

/** The HTTP status a code is answered with. */
export const statusOf = (code: ErrorCode): number => statusOfKind[errorRegistry[code].kind];

/** The registry's message for a code, with `{name}` filled in from the details. */
export function messageOf(code: ErrorCode, details?: Record<string, unknown>): string {
  return errorRegistry[code].message.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = details?.[name];
    return value === undefined || value === null || typeof value === "object"
      ? whole
      : String(value);
  });
}

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly details?: Record<string, unknown>,
    options?: { message?: string; cause?: unknown },
  ) {
    super(options?.message ?? messageOf(code, details), options);
    this.name = "DomainError";
    this.kind = errorRegistry[code].kind;
    this.status = statusOfKind[this.kind];
  }
}

export const notFound = (what: string, details?: Record<string, unknown>) =>
  new DomainError("NOT_FOUND", details, { message: `${what} not found` });

/** No verdict was reached: the client should retry, with the same Idempotency-Key for checkout. */
export const serviceUnavailable = (message?: string, options?: { cause?: unknown }) =>
  new DomainError("SERVICE_UNAVAILABLE", undefined, { message, cause: options?.cause });

export const forbidden = () => new DomainError("FORBIDDEN");

const skuList = (skus: string[]) => `Not enough stock for ${skus.join(", ")}`;

export const insufficientStock = (lines: { sku: string; requested: number; available: number }[]) =>
  new DomainError("INSUFFICIENT_STOCK", { lines }, { message: skuList(lines.map((l) => l.sku)) });

export const insufficientStockForSku = (sku: string, requested: number, available: number) =>
  new DomainError("INSUFFICIENT_STOCK", { sku, requested, available }, { message: skuList([sku]) });
