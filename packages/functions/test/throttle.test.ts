/**
 * What abuse repeats is counted in Postgres over a sliding window: failed logins per email (5 in
 * 15 minutes) and per source address (20), registrations per address per hour. Over a limit the
 * answer is 429 TOO_MANY_ATTEMPTS with Retry-After, and no password hash is spent.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { createUser, PASSWORD } from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();

/** A fresh address per test, so that tests in this file never share an address's count. */
let addressCounter = 0;
const newAddress = () => `198.51.100.${++addressCounter}`;

const login = (email: string, password: string, sourceIp: string) =>
  call("POST", "/auth/login", { body: { email, password }, sourceIp });

const verdict = (r: { status: number; body: { error?: { code: string } } }) =>
  `${r.status} ${r.body?.error?.code ?? ""}`.trim();

const savedLimit = process.env.REGISTRATIONS_PER_ADDRESS_PER_HOUR;
afterEach(() => {
  process.env.REGISTRATIONS_PER_ADDRESS_PER_HOUR = savedLimit;
});

describe("failed logins", () => {
  it("answers the 6th failed login for an email within 15 minutes with 429 and Retry-After, even with the right password, while another email still logs in", async () => {
    // Prepare
    const victim = await createUser(t.db);
    const bystander = await createUser(t.db);
    const address = newAddress();
    for (let i = 0; i < 5; i++) {
      expect(verdict(await login(victim.email, "wrong guess", address))).toBe(
        "401 INVALID_CREDENTIALS",
      );
    }

    // Act
    const locked = await login(victim.email, PASSWORD, newAddress());
    const other = await login(bystander.email, PASSWORD, address);

    // Assess
    expect(verdict(locked)).toBe("429 TOO_MANY_ATTEMPTS");
    const retryAfter = Number(locked.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(locked.body.error.details).toEqual({ retryAfterSeconds: retryAfter });
    expect(other.status).toBe(200);
  });

  it("lets the email in again once its failures leave the 15-minute window", async () => {
    // Prepare
    const user = await createUser(t.db);
    for (let i = 0; i < 5; i++) await login(user.email, "wrong guess", newAddress());
    expect((await login(user.email, PASSWORD, newAddress())).status).toBe(429);
    await t.db.query(
      "UPDATE auth_attempts SET at = at - interval '15 minutes' WHERE email = lower($1)",
      [user.email],
    );

    // Act
    const r = await login(user.email, PASSWORD, newAddress());

    // Assess
    expect(r.status).toBe(200);
  });

  it("forgets an email's failures when a login succeeds", async () => {
    // Prepare
    const user = await createUser(t.db);
    for (let i = 0; i < 4; i++) await login(user.email, "wrong guess", newAddress());
    expect((await login(user.email, PASSWORD, newAddress())).status).toBe(200);

    // Act: four more failures would lock it if the first four still counted.
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await login(user.email, "wrong", newAddress()));
    const after = await login(user.email, PASSWORD, newAddress());

    // Assess
    expect(answers.map(verdict)).toEqual(Array(4).fill("401 INVALID_CREDENTIALS"));
    expect(after.status).toBe(200);
  });

  it("checks at most 5 passwords for one email when 40 wrong logins arrive at once, and lets the right one after them in only if fewer than 5 failed", async () => {
    // Prepare
    const user = await createUser(t.db);

    // Act
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => login(user.email, "wrong guess", newAddress())),
    );
    const right = await login(user.email, PASSWORD, newAddress());

    // Assess
    const refused = answers.filter((a) => verdict(a) === "401 INVALID_CREDENTIALS").length;
    const throttled = answers.filter((a) => verdict(a) === "429 TOO_MANY_ATTEMPTS").length;
    expect(refused + throttled).toBe(40);
    expect(refused).toBeLessThanOrEqual(5);
    // Attempts that arrive together count each other, so fewer than 5 may have been checked (all
    // then throttled); the right password is let in exactly when fewer than 5 failed.
    expect(verdict(right)).toBe(refused === 5 ? "429 TOO_MANY_ATTEMPTS" : "200");
  });

  it("locks an address after 20 failures, whatever the emails, and answers unknown and known emails alike", async () => {
    // Prepare
    const address = newAddress();
    const known = await createUser(t.db);
    for (let i = 0; i < 20; i++) {
      const r = await login(`nobody-${randomUUID()}@example.com`, "guess", address);
      expect(verdict(r)).toBe("401 INVALID_CREDENTIALS");
    }

    // Act
    const unknown = await login(`nobody-${randomUUID()}@example.com`, "guess", address);
    const knownFromThere = await login(known.email, PASSWORD, address);
    const knownElsewhere = await login(known.email, PASSWORD, newAddress());

    // Assess
    expect(verdict(unknown)).toBe("429 TOO_MANY_ATTEMPTS");
    expect(verdict(knownFromThere)).toBe("429 TOO_MANY_ATTEMPTS");
    expect(knownElsewhere.status).toBe(200);
  });
});

describe("registrations", () => {
  it("answers registrations from one address beyond REGISTRATIONS_PER_ADDRESS_PER_HOUR with 429, and writes no account", async () => {
    // Prepare
    process.env.REGISTRATIONS_PER_ADDRESS_PER_HOUR = "3";
    const address = newAddress();
    const register = () =>
      call("POST", "/auth/register", {
        body: {
          email: `reg-${randomUUID()}@example.com`,
          password: "a long passphrase",
          name: "R",
        },
        sourceIp: address,
      });
    for (let i = 0; i < 3; i++) expect((await register()).status).toBe(201);
    const { rows: before } = await t.db.query("SELECT count(*)::int AS n FROM users");

    // Act
    const fourth = await register();

    // Assess
    expect(verdict(fourth)).toBe("429 TOO_MANY_ATTEMPTS");
    expect(Number(fourth.headers["retry-after"])).toBeGreaterThan(3000);
    const { rows: after } = await t.db.query("SELECT count(*)::int AS n FROM users");
    expect(after).toEqual(before);
  });
});
