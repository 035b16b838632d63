/**
 * The SST deploy, proven without an account: the SST CLI cannot run here (it downloads
 * Pulumi), so these tests hold the parts that are ours. `sstPlan()` (pure) against the topology,
 * and `sst.config.ts` + `infra/sst.ts` run against recording stand-ins for the `sst.aws.*`
 * constructors, to check what they would be called with. What SST then does with those arguments
 * (the CloudFormation-free Pulumi resources it creates) is SST's, and not verified here.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCommand } from "../../packages/testing/src/command.ts";
import { type SstFunction, sstPlan, webBuildApiUrl } from "../sst-plan.ts";
import {
  busRules,
  cors,
  lambdaFunctions,
  type Need,
  queues,
  routes,
  schedules,
  secrets,
  throttling,
  web,
} from "../topology.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const SENDER = "orders@shop.example";
const plan = () => sstPlan({ sender: SENDER });

/** Every function the plan creates, whatever triggers it. */
const planFunctions = (p = plan()) => [
  ...p.routes.map((r) => ({ name: r.route, fn: r.function })),
  ...p.queues.map((q) => ({ name: `${q.name} consumer`, fn: q.subscriber.function })),
  ...p.busSubscriptions.map((s) => ({ name: s.name, fn: s.function })),
  ...p.crons.map((c) => ({ name: c.name, fn: c.function })),
];

const needsOf = (handler: string): readonly Need[] => {
  const fn = lambdaFunctions().find((f) => f.handler === handler);
  if (!fn) throw new Error(`no topology function for ${handler}`);
  return fn.needs;
};

describe("sstPlan: the topology as SST arguments", () => {
  it("creates exactly one function per topology handler, each on nodejs24.x, arm64, ESM, minified, with source maps", () => {
    // Act
    const functions = planFunctions();

    // Assess
    expect(functions.map((f) => f.fn.handler).sort()).toEqual(
      lambdaFunctions()
        .map((f) => f.handler)
        .sort(),
    );
    for (const { fn } of functions) {
      expect(fn).toMatchObject({
        runtime: "nodejs24.x",
        architecture: "arm64",
        nodejs: { format: "esm", minify: true, sourcemap: true },
      });
      expect(fn.nodejs.esbuild.external).toContain("@aws-sdk/*");
    }
  });

  it("routes every topology route, by method and path, to its handler", () => {
    // Act
    const planned = plan().routes.map((r) => [r.route, r.function.handler]);

    // Assess
    expect(planned).toEqual(routes.map((r) => [`${r.method} ${r.path}`, r.handler]));
  });

  it("makes each topology queue FIFO with a FIFO dead-letter queue after maxReceiveCount, consumed with partial batch responses", () => {
    // Act
    const planned = plan().queues;

    // Assess
    expect(planned).toHaveLength(queues.length);
    for (const [i, q] of queues.entries()) {
      const p = planned[i];
      expect(p?.args).toEqual({
        fifo: true,
        visibilityTimeout: `${q.visibilityTimeoutSeconds} seconds`,
      });
      expect(p?.dlq).toMatchObject({ args: { fifo: true }, retry: q.maxReceiveCount });
      expect(p?.subscriber.args).toEqual({
        batch: { size: q.consumer.batchSize, partialResponses: true },
      });
      expect(p?.subscriber.function.handler).toBe(q.consumer.handler);
    }
  });

  it("gives every consumer a timeout shorter than its queue's visibility timeout, as SQS event sources require", () => {
    // Act
    const planned = plan().queues;

    // Assess
    for (const q of planned) {
      const timeout = Number.parseInt(q.subscriber.function.timeout, 10);
      expect(timeout).toBeLessThan(Number.parseInt(q.args.visibilityTimeout, 10));
    }
  });

  it("subscribes each bus rule with a pattern SST keeps (source and detailType only)", () => {
    // Act
    const planned = plan().busSubscriptions;

    // Assess
    expect(planned.map((s) => s.function.handler)).toEqual(busRules.map((r) => r.handler));
    for (const s of planned) {
      expect(
        Object.keys(s.args.pattern).every((k) => ["source", "detailType", "detail"].includes(k)),
      ).toBe(true);
    }
    expect(planned[0]?.args.pattern).toEqual({ source: ["flashstock"] });
  });

  it("runs the outbox relay and the expiry of unpaid orders on the topology's schedules", () => {
    // Act
    const planned = plan().crons;

    // Assess
    expect(planned.map((c) => [c.schedule, c.function.handler])).toEqual(
      schedules.map((s) => [s.rate, s.handler]),
    );
  });

  it("links to each function only what its needs give it: secrets, the bus and queues, the sender", () => {
    // Prepare
    const linksFor = (needs: readonly Need[]) => [
      ...secrets.filter((s) => needs.includes(s.need)).map((s) => s.name),
      ...(needs.includes("publish") ? ["Events", "OrderEvents", "StockAlerts", "Payments"] : []),
      ...(needs.includes("email") ? ["Sender"] : []),
    ];

    // Act
    const functions = planFunctions();

    // Assess
    for (const { name, fn } of functions) {
      expect([name, fn.link.sort()]).toEqual([name, linksFor(needsOf(fn.handler)).sort()]);
    }
    const byRoute = Object.fromEntries(plan().routes.map((r) => [r.route, r.function.link.sort()]));
    expect(byRoute["GET /health"]).toEqual(["DatabaseUrl"]);
    expect(byRoute["POST /auth/login"]).toEqual(["DatabaseUrl", "JwtSecret"]);
    expect(byRoute["POST /checkout"]).toEqual(
      [
        "DatabaseUrl",
        "Events",
        "JwtSecret",
        "OrderEvents",
        "StockAlerts",
        "Payments",
        "StripeSecretKey",
        "StripeWebhookSecret",
      ].sort(),
    );
    const eventLog = plan().busSubscriptions[0]?.function as SstFunction;
    expect(eventLog.link).toEqual([]);
  });

  it("sets the Neon driver wherever the database is reached, and the API's and web UI's URLs where emails are written", () => {
    // Act
    const functions = planFunctions();

    // Assess
    for (const { fn } of functions) {
      const needs = needsOf(fn.handler);
      expect(fn.environment.DATABASE_DRIVER).toBe(needs.includes("database") ? "neon" : undefined);
      expect(fn.apiUrlIn).toBe(needs.includes("email") ? "API_URL" : undefined);
      expect(fn.webUrlIn).toBe(needs.includes("email") ? "WEB_URL" : undefined);
    }
  });

  it.each([[undefined], [""], ["not-an-address"], ["orders@localhost"]])(
    "refuses to plan a stage without a sender address (EMAIL_SENDER=%j), naming the variable",
    (sender) => {
      // Act / Assess
      expect(() => sstPlan({ sender })).toThrow(/EMAIL_SENDER/);
    },
  );
});

describe("the SST plan's throttles", () => {
  it("throttles the stage, every route under /auth/ tighter, as the topology says", () => {
    // Act
    const { stage } = plan().api;

    // Assess
    expect(stage.defaultRouteSettings).toEqual({
      throttlingRateLimit: throttling.stage.rateLimit,
      throttlingBurstLimit: throttling.stage.burstLimit,
    });
    expect(stage.routeSettings.map((r) => r.routeKey).sort()).toEqual(
      routes
        .filter((r) => r.path.startsWith("/auth/"))
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    );
    expect(stage.routeSettings).toHaveLength(6);
    for (const r of stage.routeSettings) {
      expect(r.throttlingRateLimit).toBeLessThan(stage.defaultRouteSettings.throttlingRateLimit);
      expect(r.throttlingBurstLimit).toBeLessThan(stage.defaultRouteSettings.throttlingBurstLimit);
    }
  });

  it("reserves concurrency for the auth functions and for no other", () => {
    // Act
    const reserved = planFunctions()
      .filter(({ fn }) => fn.concurrency)
      .map(({ name, fn }) => [name, fn.concurrency?.reserved]);

    // Assess
    expect(reserved.map(([name]) => name).sort()).toEqual(
      routes
        .filter((r) => r.path.startsWith("/auth/"))
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    );
    expect(new Set(reserved.map(([, n]) => n))).toEqual(
      new Set([throttling.authReservedConcurrency]),
    );
  });
});

describe("the SST plan's CORS", () => {
  it("gives the API the topology's CORS policy for the origins in CORS_ALLOWED_ORIGINS", () => {
    // Act
    const planned = sstPlan({
      sender: SENDER,
      corsOrigins: "https://shop.example.com, http://127.0.0.1:3001",
    });

    // Assess
    expect(planned.api.args.cors).toEqual({
      allowOrigins: ["https://shop.example.com", "http://127.0.0.1:3001"],
      allowMethods: [...cors.allowMethods],
      allowHeaders: [...cors.allowHeaders],
      exposeHeaders: [...cors.exposeHeaders],
      maxAge: `${cors.maxAgeSeconds} seconds`,
    });
  });

  it.each([[undefined], [""], [" , "]])(
    "turns CORS off when no origin is given (%j): SST's default would allow every origin",
    (corsOrigins) => {
      expect(sstPlan({ sender: SENDER, corsOrigins }).api.args.cors).toBe(false);
    },
  );

  it.each([["*"], ["https://shop.example.com/"], ["shop.example.com"], ["https://a.com/path"]])(
    "refuses %j, which is not an origin",
    (corsOrigins) => {
      expect(() => sstPlan({ sender: SENDER, corsOrigins })).toThrow(/CORS_ALLOWED_ORIGINS/);
    },
  );
});

describe("the SST plan's web UI", () => {
  it("serves packages/web as a StaticSite built to dist, index.html answering every path that is no file", () => {
    // Act
    const site = plan().web;

    // Assess
    expect(site.name).toBe("Web");
    expect(site.args).toMatchObject({
      path: "packages/web",
      build: { output: "dist" },
      indexPage: "index.html",
    });
    // No errorPage: StaticSite then answers 403 and 404 with indexPage and status 200.
    expect(site.args).not.toHaveProperty("errorPage");
    expect(existsSync(join(repoRoot, site.args.path, "vite.config.ts"))).toBe(true);
  });

  it("builds with Vite, then writes config.json with the API's URL from the build's environment", () => {
    // Act
    const { build } = plan().web.args;
    const [vite, writer] = build.command.split(" && ");

    // Assess
    expect(vite).toBe(web.build.command);
    // Run in the site's directory: the writer's path leads from there to infra/write-web-config.ts.
    const [node, importFlag, tsx, script, dir] = String(writer).split(" ");
    expect([node, importFlag, tsx, dir]).toEqual(["node", "--import", "tsx", build.output]);
    expect(join(repoRoot, web.path, String(script))).toBe(
      join(repoRoot, "infra/write-web-config.ts"),
    );
    expect(plan().web.apiUrlIn).toBe(webBuildApiUrl);
  });

  it.each([
    ["pk_test_flashstock", { STRIPE_PUBLISHABLE_KEY: "pk_test_flashstock" }],
    [" ", {}],
    [undefined, {}],
  ])(
    "gives the build Stripe's publishable key %j as %j (with one, the storefront offers cards)",
    (key, environment) => {
      // Act
      const site = sstPlan({ sender: "orders@example.com", stripePublishableKey: key }).web;

      // Assess
      expect(site.environment).toEqual(environment);
    },
  );

  it("keeps hashed assets a year and has every other file revalidated (SST's later file options win)", () => {
    // Act
    const { fileOptions } = plan().web.args.assets;

    // Assess
    expect(fileOptions).toEqual([
      { files: "**", cacheControl: "no-cache" },
      { files: "assets/**", cacheControl: "public, max-age=31536000, immutable" },
    ]);
  });

  it("keeps SST's generated Vite types out of the UI's sources", () => {
    expect(plan().web.args.vite.types.startsWith("node_modules/")).toBe(true);
  });
});

describe("infra/write-web-config.ts, the last step of the site's build", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const build = () => {
    const dir = mkdtempSync(join(tmpdir(), "web-build-"));
    dirs.push(dir);
    return dir;
  };
  const write = (dir: string, apiUrl: string | undefined, publishableKey?: string) => {
    const env = { ...process.env };
    delete env[webBuildApiUrl];
    delete env[web.publishableKeyEnv];
    if (apiUrl !== undefined) env[webBuildApiUrl] = apiUrl;
    if (publishableKey !== undefined) env[web.publishableKeyEnv] = publishableKey;
    return runCommand(process.execPath, ["--import", "tsx", "infra/write-web-config.ts", dir], env);
  };

  it("writes config.json naming the API, the shape the UI reads when it starts", async () => {
    // Prepare
    const dir = build();

    // Act
    const result = await write(dir, "https://abc123.execute-api.eu-central-1.amazonaws.com");

    // Assess
    expect(result.code, result.out).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).toEqual({
      apiUrl: "https://abc123.execute-api.eu-central-1.amazonaws.com",
    });
  });

  it.each([[undefined], [""], ["undefined"], ["abc123.execute-api.eu-central-1.amazonaws.com"]])(
    "fails the build, writing nothing, when API_URL is %j",
    async (apiUrl) => {
      // Prepare
      const dir = build();

      // Act
      const result = await write(dir, apiUrl);

      // Assess
      expect(result.code).toBe(1);
      expect(result.out).toContain("API_URL");
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it("adds Stripe's publishable key to config.json when the build has one", async () => {
    // Prepare
    const dir = build();

    // Act
    const result = await write(dir, "https://api.example.com", "pk_live_flashstock");

    // Assess
    expect(result.code, result.out).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).toEqual({
      apiUrl: "https://api.example.com",
      stripePublishableKey: "pk_live_flashstock",
    });
  });

  it("fails the build when the build directory is missing", async () => {
    // Act
    const result = await write(join(build(), "dist"), "https://api.example.com");

    // Assess
    expect(result.code).toBe(1);
    expect(result.out).toContain("No web UI build");
  });
});

// Recording stand-ins for the SST globals that sst.config.ts and infra/sst.ts use.
interface Made {
  type: string;
  name: string;
  args: unknown;
  calls: { method: string; args: unknown[] }[];
}

/** The route keys `api.route` was called with, in order, across one deploy. */
let routesMade: string[] = [];
/** What each `$util.output` promise resolved to: the resources its output depends on. */
let outputsWaitedFor: unknown[] = [];

function installSstGlobals(stage: string) {
  const made: Made[] = [];
  routesMade = [];
  outputsWaitedFor = [];
  const component = (type: string) =>
    class {
      record: Made;
      arn: string;
      url: string;
      name: string;
      constructor(name: string, args?: unknown) {
        this.record = { type, name, args, calls: [] };
        this.arn = `arn:${type}:${name}`;
        this.url = `url:${type}:${name}`;
        this.name = `name:${name}`;
        made.push(this.record);
      }
      route(...args: unknown[]) {
        this.record.calls.push({ method: "route", args });
        routesMade.push(args[0] as string);
        return { nodes: { route: { id: `route-id:${args[0]}` } } };
      }
      subscribe(...args: unknown[]) {
        this.record.calls.push({ method: "subscribe", args });
      }
    };
  const g = globalThis as Record<string, unknown>;
  g.sst = {
    Secret: component("Secret"),
    aws: {
      Email: component("Email"),
      Bus: component("Bus"),
      Queue: component("Queue"),
      ApiGatewayV2: component("ApiGatewayV2"),
      CronV2: component("CronV2"),
      StaticSite: component("StaticSite"),
    },
  };
  // Pulumi's output over a promise: here, the promise itself, so a test can await what it holds.
  g.$util = {
    output: (value: Promise<unknown>) => ({
      apply: (f: (v: unknown) => unknown) =>
        value.then((v) => {
          outputsWaitedFor.push(v);
          return f(v);
        }),
    }),
  };
  g.$app = { name: "flashstock", stage };
  g.$config = (config: unknown) => config;
  return made;
}

interface SstConfig {
  app(input: { stage: string }): Record<string, unknown>;
  run(): Promise<Record<string, unknown>>;
}

// Imported by a computed path so that the type-check leaves sst.config.ts alone: its types come
// from .sst/platform, which only `sst install` (online) generates.
const sstConfigPath = new URL("../../sst.config.ts", import.meta.url).href;
const loadSstConfig = async () =>
  ((await import(/* @vite-ignore */ sstConfigPath)) as { default: SstConfig }).default;

describe("sst.config.ts and infra/sst.ts", () => {
  let sender: string | undefined;
  beforeEach(() => {
    sender = process.env.EMAIL_SENDER;
    process.env.EMAIL_SENDER = SENDER;
  });
  afterEach(() => {
    if (sender === undefined) delete process.env.EMAIL_SENDER;
    else process.env.EMAIL_SENDER = sender;
    for (const name of ["sst", "$app", "$config", "$util"])
      delete (globalThis as Record<string, unknown>)[name];
  });

  it.each([
    ["production", { removal: "retain", protect: true }],
    ["staging", { removal: "remove", protect: false }],
    ["ann", { removal: "remove", protect: false }],
  ])(
    "on stage %s, keeps or removes data and protects as the stage rules say",
    async (stage, rules) => {
      // Prepare
      installSstGlobals(stage);
      const config = await loadSstConfig();

      // Act
      const app = config.app({ stage });

      // Assess
      expect(app).toEqual({ name: "flashstock", home: "aws", ...rules });
    },
  );

  it("creates the stage's secrets, sender, bus, queues with their DLQs, routes, subscriptions and schedule, with links that are the components themselves", async () => {
    // Prepare
    const made = installSstGlobals("ann");
    const config = await loadSstConfig();

    // Act
    const outputs = await config.run();

    // Assess
    const names = (type: string) => made.filter((m) => m.type === type).map((m) => m.name);
    expect(names("Secret")).toEqual(secrets.map((s) => s.name));
    // A stage deploys without Stripe: its secrets start as "none", which means no card payments.
    expect(made.filter((m) => m.type === "Secret" && m.args === "none").map((m) => m.name)).toEqual(
      ["StripeSecretKey", "StripeWebhookSecret"],
    );
    expect(made.find((m) => m.type === "Email")?.args).toEqual({ sender: SENDER });
    expect(names("Bus")).toEqual(["Events"]);
    expect(names("Queue").sort()).toEqual(
      [
        "OrderEvents",
        "OrderEventsDlq",
        "StockAlerts",
        "StockAlertsDlq",
        "Payments",
        "PaymentsDlq",
      ].sort(),
    );
    expect(made.find((m) => m.name === "OrderEvents")?.args).toEqual({
      fifo: true,
      visibilityTimeout: "60 seconds",
      dlq: { queue: "arn:Queue:OrderEventsDlq", retry: 5 },
    });

    const api = made.find((m) => m.type === "ApiGatewayV2");
    expect(api?.calls.map((c) => c.args[0])).toEqual(routes.map((r) => `${r.method} ${r.path}`));
    const checkout = api?.calls.find((c) => c.args[0] === "POST /checkout")?.args[1] as {
      link: { record: Made }[];
    };
    expect(checkout.link.map((l) => l.record.name).sort()).toEqual(
      [
        "DatabaseUrl",
        "Events",
        "JwtSecret",
        "OrderEvents",
        "StockAlerts",
        "Payments",
        "StripeSecretKey",
        "StripeWebhookSecret",
      ].sort(),
    );

    const orderEvents = made.find((m) => m.name === "OrderEvents");
    const [consumer, subscribeArgs] = (orderEvents?.calls[0]?.args ?? []) as [
      { handler: string; environment: Record<string, string>; link: { record: Made }[] },
      unknown,
    ];
    expect(consumer.handler).toBe("packages/functions/src/queue/order-events.handler");
    expect(consumer.environment.API_URL).toBe("url:ApiGatewayV2:Api");
    expect(consumer.link.map((l) => l.record.name)).toContain("Sender");
    expect(subscribeArgs).toEqual({ batch: { size: 10, partialResponses: true } });

    const bus = made.find((m) => m.type === "Bus");
    expect(bus?.calls.map((c) => [c.args[0], c.args[2]])).toEqual([
      ["EventLog", { pattern: { source: ["flashstock"] } }],
    ]);
    expect(made.filter((m) => m.type === "CronV2").map((m) => m.args)).toMatchObject([
      {
        schedule: "rate(1 minute)",
        function: { handler: "packages/functions/src/schedule/outbox-relay.handler" },
      },
      {
        schedule: "rate(1 minute)",
        function: { handler: "packages/functions/src/schedule/expire-unpaid-orders.handler" },
      },
    ]);
    expect(outputs).toMatchObject({
      api: "url:ApiGatewayV2:Api",
      web: "url:StaticSite:Web",
      bus: "name:Events",
    });
  });

  it("builds the web UI with the API's URL, and tells the functions that send email the site's URL", async () => {
    // Prepare
    const made = installSstGlobals("ann");
    const config = await loadSstConfig();

    // Act
    await config.run();

    // Assess
    const sites = made.filter((m) => m.type === "StaticSite");
    expect(sites.map((m) => m.name)).toEqual(["Web"]);
    expect(sites[0]?.args).toEqual({
      ...plan().web.args,
      environment: { API_URL: "url:ApiGatewayV2:Api" },
    });
    // A queue's subscribe takes the function first; a route and a bus subscription second.
    const functions = [
      ...made.flatMap((m) => m.calls.map((c) => (m.type === "Queue" ? c.args[0] : c.args[1]))),
      ...made
        .filter((m) => m.type === "CronV2")
        .map((m) => (m.args as { function: unknown }).function),
    ] as { handler: string; environment: Record<string, string> }[];
    expect(functions).toHaveLength(lambdaFunctions().length);
    for (const fn of functions) {
      expect([fn.handler, fn.environment.WEB_URL]).toEqual([
        fn.handler,
        needsOf(fn.handler).includes("email") ? "url:StaticSite:Web" : undefined,
      ]);
    }
  });

  it("gives the stage its throttles, the route settings resolving only once the throttled routes exist", async () => {
    // Prepare
    const made = installSstGlobals("ann");
    const config = await loadSstConfig();

    // Act
    await config.run();
    const api = made.find((m) => m.type === "ApiGatewayV2")?.args as {
      transform: { stage: (args: Record<string, unknown>) => void };
    };
    const stageArgs: Record<string, unknown> = { autoDeploy: true };
    api.transform.stage(stageArgs);

    // Assess
    expect(stageArgs.autoDeploy).toBe(true);
    expect(stageArgs.defaultRouteSettings).toEqual(plan().api.stage.defaultRouteSettings);
    expect(await stageArgs.routeSettings).toEqual(plan().api.stage.routeSettings);
    // The settings wait for the ids of the throttled routes, which `api.route` made.
    const throttled = plan().api.stage.routeSettings.map((r) => r.routeKey);
    expect(outputsWaitedFor).toEqual([throttled.map((key) => `route-id:${key}`)]);
    expect(routesMade).toEqual(expect.arrayContaining(throttled));
  });

  it("fails the deploy before creating anything when EMAIL_SENDER is not set", async () => {
    // Prepare
    const made = installSstGlobals("ann");
    delete process.env.EMAIL_SENDER;
    const config = await loadSstConfig();

    // Act / Assess
    await expect(config.run()).rejects.toThrow(/EMAIL_SENDER/);
    expect(made).toEqual([]);
  });
});
