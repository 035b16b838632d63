import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import {
  type Principal,
  type Role,
  requireRole,
  unauthenticated,
  verifyToken,
} from "@flashstock/core/auth/index";
import { DomainError, type ErrorCode, messageOf, statusOf } from "@flashstock/core/error";
import { runCollectingEvents } from "@flashstock/core/events/outbox";
import type * as z from "@flashstock/core/zod";
import middy, { type MiddlewareObj } from "@middy/core";
import type {
  APIGatewayProxyEventV2,
  Context,
  APIGatewayProxyStructuredResultV2 as HttpResult,
} from "aws-lambda";
import { config } from "./config.ts";
import { logger, publishNow } from "./resources.ts";

/**
 * Who may call a route: `public` reads no token; `optional` reads one when sent (a bad one is still
 * a 401); `authenticated` needs any valid token; a list of roles needs one of them.
 */
export type Access = "public" | "optional" | "authenticated" | readonly Role[];

/** What a route answers when it succeeds. */
export interface Returns<R> {
  status: 200 | 201 | 202 | 204;
  /**
   * The body's schema: the OpenAPI document and the tests' conformance check read it. None for
   * 204, whose handler's result is not sent.
   */
  body?: z.ZodMiniType<R>;
  /** A body that is not JSON (a page, a script) is sent as the string the handler returns. */
  contentType?: string;
  /** Response headers the route may set, by lower-case name, with what each means. */
  headers?: Record<string, string>;
}

/**
 * A route's declaration: who may call it, what it takes (each part validated by its schema), what
 * it answers, and which of the registry's error codes its domain can answer with. The codes that
 * follow from the declaration itself (a token, a body, a database) are added by
 * lib/route-errors.ts, so that the document lists every answer a route can give.
 */
export interface RouteSpec<P, Q, B, R> {
  access: Access;
  /** One line for the API reference. */
  summary: string;
  path?: z.ZodMiniType<P>;
  query?: z.ZodMiniType<Q>;
  body?: z.ZodMiniType<B>;
  /** The body may be left out; it is then validated as `{}`. */
  optionalBody?: boolean;
  /**
   * The body is handed over as the exact text that came (checked for size and encoding, not
   * parsed; `body` validates that text): a webhook's signature covers those bytes, not a
   * re-serialised copy. `describedBy` is what the API reference shows the body to be.
   */
  rawBody?: { describedBy: z.ZodMiniType<unknown> };
  /** Header names (lower case) the handler reads; each validated by its schema. */
  headers?: Record<string, z.ZodMiniType<string | undefined>>;
  returns: Returns<R>;
  errors?: readonly ErrorCode[];
}

export interface Input<P, Q, B, U extends Principal | undefined = Principal | undefined> {
  path: P;
  query: Q;
  body: B;
  headers: Record<string, string>;
  /** Set whenever the route's access requires a token, so handlers need no check of their own. */
  principal: U;
  /** The caller's address as API Gateway saw it (requestContext.http.sourceIp). */
  sourceIp: string | undefined;
}

type PrincipalFor<A extends Access> = A extends "public" | "optional"
  ? Principal | undefined
  : Principal;

/** A body with response headers; the status is the route's declared one. */
export class Reply<R> {
  constructor(
    readonly body: R,
    readonly headers: Record<string, string>,
  ) {}
}
export const withHeaders = <R>(body: R, headers: Record<string, string>) =>
  new Reply(body, headers);

/**
 * On every answer: no content sniffing (a JSON body is never run as a page); once deployed (in
 * Lambda, always behind API Gateway's HTTPS), HSTS, so that browsers never try plain HTTP again.
 */
const securityHeaders = (): Record<string, string> => ({
  "x-content-type-options": "nosniff",
  ...(process.env.AWS_LAMBDA_FUNCTION_NAME
    ? { "strict-transport-security": "max-age=31536000; includeSubDomains" }
    : {}),
});

/** JSON answers depend on the caller (their token, their cart) or on the moment: never cached. */
const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: {
    "content-type": "application/json",
    "cache-control": "no-store",
    ...securityHeaders(),
    ...headers,
  },
  body: JSON.stringify(body),
});

export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>) {
  return { error: details ? { code, message, details } : { code, message } };
}

function validationError(where: string, error: z.core.$ZodError): DomainError {
  return new DomainError("VALIDATION_FAILED", {
    in: where,
    issues: error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
  });
}

/** The one place where failures become HTTP responses. Bad input is never a 500. */
const errorMapping = (): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> => ({
  onError: (request) => {
    const err = request.error;
    if (err instanceof DomainError) {
      (err.status >= 500 ? logger.error : logger.info).call(logger, "request failed", {
        status: err.status,
        code: err.code,
        // What a 503 hides from the client (Stripe's or the database's own error) is for the log.
        ...(err.status >= 500 && err.cause ? { cause: String(err.cause) } : {}),
      });
      const retryAfter = err.details?.retryAfterSeconds;
      request.response = json(
        err.status,
        errorBody(err.code, err.message, err.details),
        typeof retryAfter === "number" ? { "retry-after": String(retryAfter) } : {},
      );
      return;
    }
    logger.error("unhandled error", err as Error);
    request.response = json(
      statusOf("INTERNAL_ERROR"),
      errorBody("INTERNAL_ERROR", messageOf("INTERNAL_ERROR")),
    );
  },
});

function bearerToken(event: APIGatewayProxyEventV2): string | undefined {
  const header = event.headers?.authorization;
  if (header === undefined) return undefined;
  // The scheme name is case-insensitive (RFC 9110, section 11.1).
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  if (!match?.[1]) throw unauthenticated("The Authorization header must be 'Bearer <token>'");
  return match[1];
}

type Parsed = { flashstock: Input<unknown, unknown, unknown> };

const authentication = (
  access: Access,
): MiddlewareObj<APIGatewayProxyEventV2 & Parsed, HttpResult> => ({
  before: async (request) => {
    if (access === "public") return;
    const token = bearerToken(request.event);
    const principal = token ? await verifyToken(tokenConfig(), token) : undefined;
    if (access !== "optional") {
      if (!principal) throw unauthenticated();
      if (access !== "authenticated") requireRole(principal, access);
    }
    request.event.flashstock.principal = principal;
  },
});

export const tokenConfig = () => {
  const c = config();
  return { secret: c.jwtSecret, ttlSeconds: c.tokenTtlSeconds };
};

interface Visit {
  value: unknown;
  key?: string;
  parent?: Visit;
}

const isBadString = (s: string) => s.includes("\u0000") || !s.isWellFormed();

/**
 * Postgres cannot store NUL in text, and lone surrogates are not text: both are rejected up front.
 * Walks with an explicit stack, not recursion: a 64 KB body can nest 32,000 levels deep, which
 * would overflow the call stack (a 500). Keys are checked before their values, depth first.
 */
function findBadString(root: unknown): string | undefined {
  const pathOf = (visit: Visit) => {
    const keys: string[] = [];
    for (let v: Visit | undefined = visit; v?.key !== undefined; v = v.parent) keys.push(v.key);
    return keys.reverse().join(".") || "(root)";
  };
  const stack: Visit[] = [{ value: root }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    if (visit.key !== undefined && isBadString(visit.key)) return pathOf(visit);
    const { value } = visit;
    if (typeof value === "string") {
      if (isBadString(value)) return pathOf(visit);
    } else if (value && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ value: child, key, parent: visit });
      }
    }
  }
  return undefined;
}

function checkStrings(where: string, value: unknown): void {
  const bad = findBadString(value);
  if (bad !== undefined) {
    throw new DomainError("VALIDATION_FAILED", {
      in: where,
      issues: [{ path: bad, message: "must not contain NUL characters or unpaired surrogates" }],
    });
  }
}

function readBody(event: APIGatewayProxyEventV2, optional = false, raw = false): unknown {
  const body = event.body;
  if ((body === undefined || body === null || body === "") && optional) return {};
  if (body === undefined || body === null || body === "") {
    throw new DomainError(
      "VALIDATION_FAILED",
      { in: "body" },
      {
        message: "The request body is required",
      },
    );
  }
  const limit = config().maxBodyBytes;
  const bytes = event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
  if (bytes.length > limit) {
    throw new DomainError("BODY_TOO_LARGE", { limit, size: bytes.length });
  }
  const type = event.headers?.["content-type"];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new DomainError(
      "UNSUPPORTED_MEDIA_TYPE",
      { contentType: type },
      { message: "The body must be application/json" },
    );
  }
  // A compressed body would be parsed as if it were plain (API Gateway does not decompress), so a
  // body that says it is encoded is refused rather than guessed at.
  const encoding = event.headers?.["content-encoding"];
  if (encoding !== undefined && !/^\s*identity\s*$/i.test(encoding)) {
    throw new DomainError(
      "UNSUPPORTED_MEDIA_TYPE",
      { contentEncoding: encoding },
      { message: "The body must not be content-encoded" },
    );
  }
  if (raw) return bytes.toString("utf8");
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new DomainError("MALFORMED_JSON");
  }
}

function parse<T>(where: string, schema: z.ZodMiniType<T> | undefined, value: unknown): T {
  if (!schema) return undefined as T;
  checkStrings(where, value);
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(where, result.error);
  return result.data;
}

const parsing = <P, Q, B, R>(
  spec: RouteSpec<P, Q, B, R>,
): MiddlewareObj<APIGatewayProxyEventV2 & Parsed, HttpResult> => ({
  before: (request) => {
    const { event } = request;
    const input = event.flashstock;
    input.path = parse("path", spec.path, event.pathParameters ?? {});
    input.query = parse("query", spec.query, event.queryStringParameters ?? {});
    for (const [name, schema] of Object.entries(spec.headers ?? {})) {
      const value = parse(`header ${name}`, schema, event.headers?.[name]);
      if (value !== undefined) input.headers[name] = value;
    }
    if (spec.body) {
      input.body = parse(
        "body",
        spec.body,
        readBody(event, spec.optionalBody, spec.rawBody !== undefined),
      );
    }
  },
});

function toResult<R>(returns: Returns<R>, result: R | Reply<R>): HttpResult {
  const { body, headers } = result instanceof Reply ? result : { body: result, headers: {} };
  if (returns.status === 204) {
    return {
      statusCode: 204,
      headers: { "cache-control": "no-store", ...securityHeaders(), ...headers },
      body: "",
    };
  }
  if (returns.contentType && !/json/.test(returns.contentType)) {
    return {
      statusCode: returns.status,
      headers: { "content-type": returns.contentType, ...securityHeaders(), ...headers },
      body: String(body),
    };
  }
  return json(returns.status, body, headers);
}

/**
 * Builds an API Gateway (HTTP API, payload v2) handler: logging context, error mapping,
 * authentication and parsing are middlewares; the handler gets typed input and calls the core.
 * Events committed while it runs are published before the response goes out (the outbox's fast
 * path); a failed publish never fails the request, the relay sends those events later.
 */
export function route<const A extends Access, R, P = undefined, Q = undefined, B = undefined>(
  spec: RouteSpec<P, Q, B, R> & { access: A },
) {
  return {
    handler(fn: (input: Input<P, Q, B, PrincipalFor<A>>) => Promise<R | Reply<R>>) {
      const handler = middy<APIGatewayProxyEventV2 & Parsed, HttpResult, Error, Context>({
        timeoutEarlyInMillis: 0,
      })
        // Bodies carry passwords, headers carry tokens: the event is never logged, even with
        // POWERTOOLS_LOGGER_LOG_EVENT set (an explicit option wins over the variable).
        .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
        .use(errorMapping())
        .use({
          before: (request) => {
            request.event.flashstock = {
              path: undefined,
              query: undefined,
              body: undefined,
              headers: {},
              principal: undefined,
              sourceIp: request.event.requestContext?.http?.sourceIp,
            };
          },
        })
        .use(authentication(spec.access))
        .use(parsing(spec))
        .handler(async (event) =>
          toResult(
            spec.returns,
            await runCollectingEvents(
              () => fn(event.flashstock as Input<P, Q, B, PrincipalFor<A>>),
              publishNow,
            ),
          ),
        );
      // The declaration travels with the handler: the OpenAPI document is built from it.
      return Object.assign(handler, {
        spec: spec as RouteSpec<unknown, unknown, unknown, unknown>,
      });
    },
  };
}

/** What every handler module exports per route: a Lambda handler carrying its declaration. */
export interface DeclaredHandler {
  spec: RouteSpec<unknown, unknown, unknown, unknown>;
}
