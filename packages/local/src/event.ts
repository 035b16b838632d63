import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";

export interface HttpRequestLike {
  method: string;
  /** Path without the query string, still URL-encoded as sent. */
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
  sourceIp?: string;
}

/**
 * The API Gateway HTTP API (payload format 2.0) event for a request, shaped as the cloud sends it:
 * lower-case header names, repeated headers and query parameters joined with commas, cookies apart,
 * a body that is base64 unless it is text.
 */
export function apiGatewayEvent(
  req: HttpRequestLike,
  routeKey: string,
  pathParameters?: Record<string, string>,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === "cookie") {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((c) => c.split(/;\s*/));
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(",") : value;
  }

  const rawQueryString = req.rawQueryString ?? "";
  let queryStringParameters: Record<string, string> | undefined;
  for (const [k, v] of new URLSearchParams(rawQueryString)) {
    queryStringParameters ??= {};
    queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
  }

  const bodyBuffer =
    req.body === undefined
      ? undefined
      : Buffer.isBuffer(req.body)
        ? req.body
        : Buffer.from(req.body);
  const isText =
    bodyBuffer !== undefined &&
    /^(application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)|text\/)/i.test(
      headers["content-type"] ?? "",
    ) &&
    bodyBuffer.toString("utf8").length > 0 &&
    Buffer.from(bodyBuffer.toString("utf8"), "utf8").equals(bodyBuffer);

  const now = new Date();
  return {
    version: "2.0",
    routeKey,
    rawPath: req.rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(pathParameters && Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "local",
      http: {
        method: req.method,
        path: req.rawPath,
        protocol: "HTTP/1.1",
        sourceIp: req.sourceIp ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(bodyBuffer && bodyBuffer.length > 0
      ? isText
        ? { body: bodyBuffer.toString("utf8"), isBase64Encoded: false }
        : { body: bodyBuffer.toString("base64"), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  };
}

/** A Lambda context for a local invocation; the timeout mirrors the deployed function's. */
export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
