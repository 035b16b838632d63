/**
 * The SST components of one stage, made from `sstPlan()`. Only glue: every argument comes from the
 * plan, which is pure and unit-tested; this file swaps link names for the components and creates
 * them in dependency order. Runs inside `sst deploy`, where `sst` is a global.
 */
import { type SstFunction, sstPlan } from "./sst-plan.ts";

// The slice of SST's global API used here. SST generates the full types into .sst/platform at
// `sst install`, which needs the internet; declaring what we call keeps this file type-checked.
interface Component {
  arn?: unknown;
  url?: unknown;
  name?: unknown;
}
interface Queue extends Component {
  subscribe(fn: unknown, args: unknown): unknown;
}
interface Bus extends Component {
  subscribe(name: string, fn: unknown, args: unknown): unknown;
}
interface Api extends Component {
  route(route: string, fn: unknown): { nodes: { route: { id: unknown } } };
}
type Ctor<T> = new (name: string, args?: unknown) => T;
declare const sst: {
  Secret: Ctor<Component>;
  aws: {
    Email: Ctor<Component>;
    Bus: Ctor<Bus>;
    Queue: Ctor<Queue>;
    ApiGatewayV2: Ctor<Api>;
    CronV2: Ctor<Component>;
    StaticSite: Ctor<Component>;
  };
};
/** Pulumi's `output`, as SST exposes it: a value the engine waits for, with its resources. */
declare const $util: { output(value: unknown): { apply(f: (value: unknown) => unknown): unknown } };

export function deployStage(env: Record<string, string | undefined> = process.env) {
  const plan = sstPlan({
    sender: env.EMAIL_SENDER,
    corsOrigins: env.CORS_ALLOWED_ORIGINS,
    stripePublishableKey: env.STRIPE_PUBLISHABLE_KEY,
  });
  const made = new Map<string, Component>();
  const add = <T extends Component>(name: string, component: T): T => {
    made.set(name, component);
    return component;
  };

  for (const s of plan.secrets) {
    add(s.name, s.placeholder ? new sst.Secret(s.name, s.placeholder) : new sst.Secret(s.name));
  }
  add(plan.email.name, new sst.aws.Email(plan.email.name, plan.email.args));
  const bus = add(plan.bus.name, new sst.aws.Bus(plan.bus.name));
  const queues = plan.queues.map((q) => {
    const dlq = new sst.aws.Queue(q.dlq.name, q.dlq.args);
    const queue = new sst.aws.Queue(q.name, {
      ...q.args,
      dlq: { queue: dlq.arn, retry: q.dlq.retry },
    });
    return { plan: q, queue: add(q.name, queue) };
  });
  // SST creates the API's stage with the API, before any route, and API Gateway refuses a route
  // setting for a route key it does not know yet. So the route settings are an output that
  // resolves once the throttled routes exist, which makes Pulumi create the stage after them.
  let routesMade: (ids: unknown[]) => void = () => {};
  const throttledRouteIds = new Promise<unknown[]>((resolve) => {
    routesMade = resolve;
  });
  const api = add(
    plan.api.name,
    new sst.aws.ApiGatewayV2(plan.api.name, {
      ...plan.api.args,
      transform: {
        stage: (args: Record<string, unknown>) => {
          args.defaultRouteSettings = plan.api.stage.defaultRouteSettings;
          args.routeSettings = $util
            .output(throttledRouteIds)
            .apply(() => plan.api.stage.routeSettings);
        },
      },
    }),
  );

  // The web UI, whose build writes the API's URL into config.json; made before the functions, whose
  // emails link to its pages. The API cannot allow the site's origin in its CORS in return: the
  // site's build waits for the API, which cannot wait for the site. CORS_ALLOWED_ORIGINS names it.
  const site = new sst.aws.StaticSite(plan.web.name, {
    ...plan.web.args,
    environment: { ...plan.web.environment, [plan.web.apiUrlIn]: api.url },
  });

  const fn = ({ link, apiUrlIn, webUrlIn, environment, ...args }: SstFunction) => ({
    ...args,
    environment: {
      ...environment,
      ...(apiUrlIn ? { [apiUrlIn]: api.url } : {}),
      ...(webUrlIn ? { [webUrlIn]: site.url } : {}),
    },
    link: link.map((name) => {
      const component = made.get(name);
      if (!component) throw new Error(`The plan links ${name}, which was not created`);
      return component;
    }),
  });

  const throttled = new Set(plan.api.stage.routeSettings.map((r) => r.routeKey));
  const madeRoutes = plan.routes.map((r) => ({
    key: r.route,
    made: api.route(r.route, fn(r.function)),
  }));
  routesMade(madeRoutes.filter((r) => throttled.has(r.key)).map((r) => r.made.nodes.route.id));
  for (const { plan: q, queue } of queues) {
    queue.subscribe(fn(q.subscriber.function), q.subscriber.args);
  }
  for (const s of plan.busSubscriptions) bus.subscribe(s.name, fn(s.function), s.args);
  for (const c of plan.crons) {
    new sst.aws.CronV2(c.name, { schedule: c.schedule, function: fn(c.function) });
  }

  return {
    api: api.url,
    web: site.url,
    bus: bus.name,
    ...Object.fromEntries(queues.map(({ plan: q, queue }) => [`${q.name}Queue`, queue.url])),
  };
}
