/**
 * Hostile values, as fixed lists: the cases that tables go through one by one, and that the
 * arbitraries (arbitraries.ts) draw from beside what fast-check generates.
 */
import type { World } from "./world.ts";

export const SQL = [
  "'; DROP TABLE orders;--",
  "1 OR 1=1",
  "' OR '1'='1",
  "1'; DELETE FROM stock WHERE '1'='1",
  '"; TRUNCATE users CASCADE; --',
  "%' OR 1=1 --",
  "1; SELECT pg_sleep(5)--",
  "' UNION SELECT password_hash FROM users--",
  "\\'; DROP TABLE products;--",
  "$1",
  "_%",
];

export const SPECIAL_STRINGS = [
  "",
  " ",
  "\t\n",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "x\uDFFFy",
  "\uDBFF\uDBFF",
  "\uFEFF",
  "\u202Eevil",
  "\u200B",
  "null",
  "undefined",
  "true",
  "-1",
  "NaN",
  "Infinity",
  "{}",
  "[]",
  "__proto__",
  "constructor",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  "${7*7}",
  "%s%n%x",
  "😀".repeat(50),
  "Ω≈ç√ß",
  "\r\nX-Injected: 1",
];

export const HOSTILE_NUMBERS = [
  1e308,
  -1e308,
  -1,
  0,
  -0,
  0.5,
  -0.5,
  1.5,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31) - 1,
  1e9,
  1e9 + 1,
  10_000,
  10_001,
  1e21,
  1e-7,
  Number.MIN_VALUE,
  Number.EPSILON,
];

/** Keys a body should not get to set: prototype keys, and fields the server owns. */
export const UNKNOWN_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "role",
  "id",
  "customerId",
  "status",
  "available",
  "isAdmin",
  "",
];

/** Bodies that are not JSON, or JSON only to a lenient parser. */
export const MALFORMED_JSON = [
  "{",
  "}",
  '{"quantity":}',
  "{'quantity': 1}",
  "{quantity: 1}",
  "[1,]",
  '{"quantity": 1,}',
  "\uFEFF{}",
  "undefined",
  "NaN",
  "Infinity",
  '{"quantity": 01}',
  '{"quantity": +1}',
  '{"quantity": .5}',
  '{"quantity": 0x10}',
  '{"quantity": NaN}',
  "// comment\n{}",
  "/* comment */ {}",
  '{"a":1}{"a":2}',
  '"unterminated',
  "tru",
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":"\t"}',
  " ",
  "\u0000",
  '{"a":1}\u0000',
];

export const QUERY_KEYS = ["limit", "cursor", "category", "q", "low", "status"];

export const RAW_QUERIES = [
  "%zz",
  "limit=%zz",
  "q=%00",
  "q=%ED%A0%80",
  "limit=1&limit=2",
  "=",
  "&&&",
  "q",
  "limit",
  `q=${"a".repeat(100_000)}`,
  `cursor=${"A".repeat(10_000)}`,
  "%",
  "low=TRUE",
  "status=placed&status=cancelled",
  "limit=1e308",
  "limit=-1",
  "limit=0",
  "limit=0.5",
  "limit=9007199254740993",
  "limit=NaN",
  "limit=Infinity",
  "q=' OR 1=1 --",
  "q=%27%3B%20DROP%20TABLE%20orders%3B--",
  "category=1%20OR%201%3D1",
];

/** Path segments as sent on the wire: raw junk, or anything percent-encoded. */
export const JUNK_SEGMENTS = [
  "%zz",
  "%",
  "%0",
  "%g0",
  "%00",
  "a%00b",
  "%E0%A4%A",
  "%ED%A0%80",
  "%C0%AF",
  "%FF%FE",
  "%2e%2e",
  "..",
  ".",
  "%20",
  "%2F",
  "%5C",
  "%u0041",
  "%25",
  "%2525zz",
  "\\",
  "'",
  "\u0000",
  "\uD800",
  "😀",
  "%F0%9F%98%80",
  "%27%3B%20DROP%20TABLE%20orders%3B--",
  "1%20OR%201%3D1",
  "A".repeat(300),
  "A".repeat(70_000),
  "%41".repeat(5_000),
  "%00".repeat(100),
];

/** Content types that are not JSON, or only look like it. */
export const CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/jsonx",
  "application/octet-stream",
  "json",
  "",
  "ä/ö",
  ";;;",
  "application/json\u0000",
  "a".repeat(10_000),
];

/** Idempotency keys the API refuses, by what is wrong with them. */
export const BAD_IDEMPOTENCY_KEYS: Record<string, string> = {
  empty: "",
  "256 characters long": "a".repeat(256),
  "300 characters long": "k".repeat(300),
  NUL: "\u0000",
  "a control character": "key\u0001",
  "a CRLF and a header": "key\r\nX-Injected: 1",
  "a tab": "\t",
  DEL: "\u007f",
  "Cyrillic letters": "ключ",
  "an emoji": "😀",
  "a lone surrogate": "\uD800",
};

export const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A pagination cursor as this API spells one: the JSON of a sort key, in base64url. */
export const cursorOf = (key: unknown) => b64url(key);

/** Authorization headers that must never authenticate anyone. */
export function badAuthorizations(w: World): string[] {
  const user = w.users.customer;
  const token = user.token;
  const [header, , signature] = token.split(".");
  const escalated = {
    sub: user.id,
    role: "admin",
    iss: "flashstock",
    aud: "flashstock-api",
    iat: Math.floor(Date.now() / 1000),
    exp: 4_102_444_800,
  };
  return [
    "Bearer",
    "Bearer ",
    "Basic x",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Digest username=admin",
    `Bearer ${"A".repeat(10 * 1024)}`,
    "Bearer tökén",
    "Bearer 😀",
    `Bearer ${token}\u0000`,
    `Bearer ${token} ${token}`,
    `Bearer ${token}x`,
    `Bearer ${token}\r\nX-Injected: 1`,
    // The customer's own signature over a payload that says admin.
    `Bearer ${header}.${b64url(escalated)}.${signature}`,
    `Bearer ${b64url({ alg: "none", typ: "JWT" })}.${b64url(escalated)}.`,
    `Bearer ${w.expiredToken}`,
    `Bearer ${w.wrongSecretToken}`,
    "Bearer null",
    "Bearer a.b.c",
    "Bearer ' OR 1=1 --",
    "",
    " ",
    "\u0000",
  ];
}
