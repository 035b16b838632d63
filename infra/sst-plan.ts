/**
 * The topology, turned into the arguments of SST components. Pure: no SST import, no globals, so
 * that it is unit-tested here, where the SST CLI cannot run. `infra/sst.ts` only feeds these
 * arguments to `sst.aws.*`; `sst.config.ts` only calls that.
 *
 * Names are SST component names (PascalCase), which are also the names of the links a function
 * reads through `Resource` (packages/functions/src/lib/config.ts).
 */
import { posix } from "node:path";
import {
  cors,
  email,
  environmentFor,
  bus as eventBus,
  type LambdaFunction,
  lambdaFunctions,
  lambdaRuntime,
  type Need,
  parseOrigins,
  pascalCase,
  queues,
  routeThrottles,
  type SecretName,
  secrets,
  secretsFor,
  type Throttle,
  type Trigger,
  throttling,
  unsetSecret,
  web,
} from "./topology.ts";

/** A function's arguments, with its links by component name (the glue swaps in the components). */
export interface SstFunction {
  handler: string;
  runtime: typeof lambdaRuntime.runtime;
  architecture: typeof lambdaRuntime.architecture;
  timeout: `${number} seconds`;
  memory: `${number} MB`;
  environment: Record<string, string>;
  /** The environment variable that gets the API's URL (emails show the calls ops can make). */
  apiUrlIn?: string;
  /** The environment variable that gets the web UI's URL (emails link to its pages). */
  webUrlIn?: string;
  link: string[];
  /** Reserved concurrency: the auth functions' cap (see `throttling` in the topology). */
  concurrency?: { reserved: number };
  nodejs: {
    /** Installed into the function's node_modules instead of bundled. */
    install?: string[];
    format: typeof lambdaRuntime.format;
    minify: boolean;
    sourcemap: boolean;
    esbuild: {
      external: string[];
      define: Record<string, string>;
      banner: { js: string };
      legalComments: typeof lambdaRuntime.legalComments;
    };
  };
}

/** SST's ApiGatewayV2 `cors`: API Gateway answers preflight and sets the headers itself. */
export interface SstCors {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge: `${number} seconds`;
}

export interface SstRouteThrottle {
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
}

const routeThrottle = (t: Throttle): SstRouteThrottle => ({
  throttlingRateLimit: t.rateLimit,
  throttlingBurstLimit: t.burstLimit,
});

/**
 * `sst.aws.StaticSite` arguments for the web UI. Without `errorPage`, StaticSite answers a 403 or
 * 404 with `indexPage` and status 200: the single-page fallback.
 */
export interface SstStaticSite {
  path: string;
  build: { command: string; output: string };
  indexPage: string;
  /** Later entries win: every file revalidated, but the hashed ones kept a year. */
  assets: { fileOptions: { files: string; cacheControl: string }[] };
  /**
   * Where SST writes the Vite `import.meta.env` types of `environment`: by default into the UI's
   * `src/`, where the lint and type-check would find a file nobody wrote. The UI reads no build-time
   * variable (its API URL comes from config.json at run time), so they go where nothing reads them.
   */
  vite: { types: string };
}

/** The site build's variable that holds the API's URL, for infra/write-web-config.ts. */
export const webBuildApiUrl = "API_URL";
const webConfigWriter = "infra/write-web-config.ts";

export interface SstPlan {
  /** `placeholder`: the value an optional secret has until it is set (SST's second argument). */
  secrets: { name: SecretName; placeholder?: string }[];
  email: { name: string; args: { sender: string } };
  bus: { name: string };
  queues: {
    name: string;
    args: { fifo: true; visibilityTimeout: `${number} seconds` };
    dlq: { name: string; args: { fifo: true }; retry: number };
    subscriber: {
      function: SstFunction;
      args: { batch: { size: number; partialResponses: true } };
    };
  }[];
  api: {
    name: string;
    args: { cors: false | SstCors };
    /** The stage's throttles, as Pulumi's `aws.apigatewayv2.Stage` takes them. */
    stage: {
      defaultRouteSettings: SstRouteThrottle;
      routeSettings: ({ routeKey: string } & SstRouteThrottle)[];
    };
  };
  routes: { route: string; function: SstFunction }[];
  busSubscriptions: {
    name: string;
    function: SstFunction;
    args: { pattern: { source?: string[]; detailType?: string[] } };
  }[];
  crons: { name: string; schedule: string; function: SstFunction }[];
  /**
   * The web UI; the glue adds `environment[apiUrlIn]`, the API's URL, to `environment`, the rest of
   * its build's environment.
   */
  web: { name: string; args: SstStaticSite; apiUrlIn: string; environment: Record<string, string> };
}

const busName = pascalCase(eventBus.name);
const queueNames = queues.map((q) => pascalCase(q.name));

/** What a need links: SST turns a link into the function's IAM statements and its `Resource`. */
const linksFor = (needs: readonly Need[]): string[] => [
  ...secretsFor(needs).map((s) => s.name),
  ...(needs.includes("publish") ? [busName, ...queueNames] : []),
  ...(needs.includes("email") ? [email.name] : []),
];

export function sstFunction(fn: LambdaFunction): SstFunction {
  return {
    handler: fn.handler,
    runtime: lambdaRuntime.runtime,
    architecture: lambdaRuntime.architecture,
    timeout: `${fn.timeoutSeconds} seconds`,
    memory: `${fn.memoryMb} MB`,
    environment: environmentFor(fn),
    ...(fn.needs.includes("email") ? { apiUrlIn: "API_URL", webUrlIn: web.urlEnv } : {}),
    link: linksFor(fn.needs),
    ...(fn.reservedConcurrency !== undefined
      ? { concurrency: { reserved: fn.reservedConcurrency } }
      : {}),
    nodejs: {
      ...(fn.nodeModules.length > 0 ? { install: [...fn.nodeModules] } : {}),
      format: lambdaRuntime.format,
      minify: lambdaRuntime.minify,
      sourcemap: lambdaRuntime.sourcemap,
      esbuild: {
        external: [...lambdaRuntime.external],
        define: { ...lambdaRuntime.define },
        banner: { js: lambdaRuntime.banner },
        legalComments: lambdaRuntime.legalComments,
      },
    },
  };
}

/**
 * @param sender the address emails are sent from on this stage (`EMAIL_SENDER` when deploying):
 *   SES sends it a verification link on the first deploy.
 * @param corsOrigins the origins whose pages may call this stage's API (`CORS_ALLOWED_ORIGINS`
 *   when deploying, comma-separated). None: CORS off, since SST's default would allow every origin.
 * @param stripePublishableKey Stripe's publishable key (`STRIPE_PUBLISHABLE_KEY` when deploying),
 *   given to the web UI's build for its config.json: with it the storefront offers cards.
 */
export function sstPlan(options: {
  sender: string | undefined;
  corsOrigins?: string | undefined;
  stripePublishableKey?: string | undefined;
}): SstPlan {
  const origins = parseOrigins(options.corsOrigins);
  const sender = options.sender?.trim();
  if (!sender || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(sender)) {
    throw new Error(
      `Set ${email.env} to the address this stage sends email from, e.g. ` +
        `${email.env}=orders@your-shop.com npx sst deploy --stage <stage> (got "${sender ?? ""}")`,
    );
  }
  const functions = lambdaFunctions();
  /** The functions a kind of trigger starts, with their trigger's type narrowed. */
  const of = <K extends Trigger["kind"]>(kind: K) =>
    functions.filter(
      (f): f is LambdaFunction & { trigger: Extract<Trigger, { kind: K }> } =>
        f.trigger.kind === kind,
    );

  return {
    secrets: secrets.map((s) =>
      "optional" in s && s.optional ? { name: s.name, placeholder: unsetSecret } : { name: s.name },
    ),
    email: { name: email.name, args: { sender } },
    bus: { name: busName },
    queues: of("queue").map((fn) => {
      const q = fn.trigger.queue;
      return {
        name: pascalCase(q.name),
        // Content-based deduplication stays off: the publisher sets each message's
        // deduplication id (its event id).
        args: { fifo: true, visibilityTimeout: `${q.visibilityTimeoutSeconds} seconds` },
        dlq: { name: `${pascalCase(q.name)}Dlq`, args: { fifo: true }, retry: q.maxReceiveCount },
        subscriber: {
          function: sstFunction(fn),
          args: { batch: { size: q.consumer.batchSize, partialResponses: true } },
        },
      };
    }),
    api: {
      name: "Api",
      args: {
        cors:
          origins.length === 0
            ? false
            : {
                allowOrigins: origins,
                allowMethods: [...cors.allowMethods],
                allowHeaders: [...cors.allowHeaders],
                exposeHeaders: [...cors.exposeHeaders],
                maxAge: `${cors.maxAgeSeconds} seconds`,
              },
      },
      stage: {
        defaultRouteSettings: routeThrottle(throttling.stage),
        routeSettings: routeThrottles().map(({ routeKey, ...t }) => ({
          routeKey,
          ...routeThrottle(t),
        })),
      },
    },
    routes: of("http").map((fn) => ({
      route: `${fn.trigger.route.method} ${fn.trigger.route.path}`,
      function: sstFunction(fn),
    })),
    busSubscriptions: of("bus").map((fn) => {
      const { pattern } = fn.trigger.rule;
      return {
        name: fn.name,
        function: sstFunction(fn),
        // SST's Bus keeps only source, detail-type (as detailType) and detail of a pattern.
        args: {
          pattern: {
            ...(pattern.source ? { source: [...pattern.source] } : {}),
            ...(pattern["detail-type"] ? { detailType: [...pattern["detail-type"]] } : {}),
          },
        },
      };
    }),
    crons: of("schedule").map((fn) => ({
      name: fn.name,
      schedule: fn.trigger.schedule.rate,
      function: sstFunction(fn),
    })),
    web: {
      name: web.name,
      args: staticSite(),
      apiUrlIn: webBuildApiUrl,
      environment: options.stripePublishableKey?.trim()
        ? { [web.publishableKeyEnv]: options.stripePublishableKey.trim() }
        : {},
    },
  };
}

/**
 * The UI built by Vite, then config.json written beside it: SST runs the build command in
 * `web.path`, with the API's URL in its environment.
 */
function staticSite(): SstStaticSite {
  const writer = posix.relative(web.path, webConfigWriter);
  return {
    path: web.path,
    build: {
      command: `${web.build.command} && node --import tsx ${writer} ${web.build.output}`,
      output: web.build.output,
    },
    indexPage: web.indexDocument,
    assets: {
      fileOptions: [
        { files: "**", cacheControl: web.cacheControl.entry },
        { files: `${web.hashedAssets}/**`, cacheControl: web.cacheControl.hashed },
      ],
    },
    vite: { types: "node_modules/.sst/sst-env.d.ts" },
  };
}
