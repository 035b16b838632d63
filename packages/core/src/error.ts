/**
 * Every failure the domain expects carries a stable code (part of the public API, UPPER_SNAKE)
 * and a kind. The kind says what sort of failure it is; the HTTP layer turns kinds into statuses
 * in one place, so the core never speaks HTTP.
 */
export type ErrorKind =
  | "invalid"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_large"
  | "unprocessable"
  | "unavailable";

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DomainError";
  }
}

export const notFound = (what: string, details?: Record<string, unknown>) =>
  new DomainError("not_found", "NOT_FOUND", `${what} not found`, details);

/** No verdict was reached: the client should retry, with the same Idempotency-Key for checkout. */
export const serviceUnavailable = (message: string, options?: { cause?: unknown }) =>
  new DomainError("unavailable", "SERVICE_UNAVAILABLE", message, undefined, options);

export const forbidden = () =>
  new DomainError("forbidden", "FORBIDDEN", "Your role does not allow this action");

export const insufficientStock = (lines: { sku: string; requested: number; available: number }[]) =>
  new DomainError(
    "conflict",
    "INSUFFICIENT_STOCK",
    `Not enough stock for ${lines.map((l) => l.sku).join(", ")}`,
    { lines },
  );

export const insufficientStockForSku = (sku: string, requested: number, available: number) =>
  new DomainError("conflict", "INSUFFICIENT_STOCK", `Not enough stock for ${sku}`, {
    sku,
    requested,
    available,
  });
