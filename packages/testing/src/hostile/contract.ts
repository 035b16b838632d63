/**
 * The contract every request is held to, whatever it carries: a success, or a 4xx whose body is
 * exactly `{error: {code, message, details?}}` with a code from the error registry; never a 500;
 * and a refused request writes nothing.
 */
import { errorRegistry } from "@flashstock/core/error";
import fc from "fast-check";
import { beforeEach, expect } from "vitest";
import { type ApiResponse, call } from "../api.ts";
import { type TestDatabase, tablesSnapshot } from "../database.ts";

/** The codes README's error table documents, from the registry it is written from. */
export const DOCUMENTED_CODES = Object.keys(errorRegistry);

/** The largest body the API reads; past it, 413 BODY_TOO_LARGE. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A request as it goes on the wire: the raw path and query, headers, and a body of any bytes. */
export interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export const clip = (s: string, n = 240) =>
  s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;

/** One line that says what was sent, short enough for a failure message. */
export function describeRequest(req: Sent): string {
  const body = Buffer.isBuffer(req.body) ? `<${req.body.length} bytes>` : (req.body ?? "");
  return `${req.method} ${JSON.stringify(clip(req.url))} headers=${clip(
    JSON.stringify(req.headers),
  )} body=${JSON.stringify(clip(body))}`;
}

/** Makes fast-check print a counterexample as a short request line, not a 100k-character dump. */
export const readable = (req: Sent): Sent =>
  Object.defineProperty(req, fc.toStringMethod, { value: () => describeRequest(req) });

export const send = (req: Sent) =>
  call(req.method, req.url, { headers: req.headers, rawBody: req.body });

/** A status below 500, and for a 4xx exactly `{error: {code, message, details?}}` with a documented code. */
export function expectDocumented(req: Sent, res: ApiResponse): void {
  const label = `${describeRequest(req)} -> ${res.status} ${clip(res.text, 400)}`;
  expect(res.status, label).toBeGreaterThanOrEqual(200);
  expect(res.status, label).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers["content-type"], label).toMatch(/^application\/json/);
  expect(res.body, label).toBeTypeOf("object");
  expect(Object.keys(res.body ?? {}), label).toEqual(["error"]);
  const { error } = res.body;
  expect(error, label).toBeTypeOf("object");
  expect(error, label).not.toBeNull();
  expect(
    Object.keys(error).filter((k) => !["code", "message", "details"].includes(k)),
    label,
  ).toEqual([]);
  expect(DOCUMENTED_CODES, label).toContain(error.code);
  expect(error.message, label).toBeTypeOf("string");
  expect(error.message.length, label).toBeGreaterThan(0);
  if ("details" in error) {
    expect(error.details, label).toBeTypeOf("object");
    expect(error.details, label).not.toBeNull();
    expect(Array.isArray(error.details), label).toBe(false);
  }
}

/** The request was refused with exactly this status and code. */
export function expectRefused(req: Sent, res: ApiResponse, status: number, code: string): void {
  expect([res.status, res.body?.error?.code], describeRequest(req)).toEqual([status, code]);
}

/** `status CODE in` for a failure, the status alone for a success: what a response amounted to. */
export const outcome = (res: ApiResponse) =>
  res.status >= 400
    ? `${res.status} ${res.body?.error?.code} ${res.body?.error?.details?.in ?? ""}`.trim()
    : String(res.status);

export interface Answer {
  req: Sent;
  res: ApiResponse;
}

export interface Contract {
  /**
   * Sends a request and holds it to the contract: a documented outcome, and when refused, every
   * writable table exactly as before (tablesSnapshot).
   */
  sendChecked(req: Sent): Promise<ApiResponse>;
  /** sendChecked for each case in turn, each case with its answer. */
  sendEach<C extends { req: Sent }>(cases: C[]): Promise<(C & Answer)[]>;
  /** For a test that writes by other means between two checked requests. */
  forget(): void;
}

/**
 * The contract for the test file's database. The snapshot taken after a refused request is the
 * "before" of the next one: nothing but the request runs between the two, so it is as strict as a
 * snapshot on each side of each request and costs half the queries (the snapshots are most of the
 * time these tests take). A success, a failed check, and the start of each test (whose Prepare may
 * write) forget it.
 */
export function useContract(t: TestDatabase): Contract {
  let unchanged: Record<string, unknown> | undefined;
  const forget = () => {
    unchanged = undefined;
  };
  beforeEach(forget);
  const sendChecked = async (req: Sent) => {
    const before = unchanged ?? (await tablesSnapshot(t.db));
    forget();
    const res = await send(req);
    expectDocumented(req, res);
    if (res.status >= 400) {
      const after = await tablesSnapshot(t.db);
      expect(
        after,
        `${describeRequest(req)} was rejected (${res.status} ${res.body?.error?.code}) but wrote to the database`,
      ).toEqual(before);
      unchanged = after;
    }
    return res;
  };
  const sendEach = async <C extends { req: Sent }>(cases: C[]) => {
    const answered: (C & Answer)[] = [];
    for (const c of cases) answered.push({ ...c, res: await sendChecked(c.req) });
    return answered;
  };
  return { sendChecked, sendEach, forget };
}
