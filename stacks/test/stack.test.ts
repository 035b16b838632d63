/**
 * The CDK stack, checked on its synthesised CloudFormation template: no AWS account, no network.
 * Every expectation is derived from infra/topology.ts, so a route, queue or need added there is
 * checked here without touching this file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type CfnElement, Stack, Token } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import cdkJson from "../../cdk.json" with { type: "json" };
import {
  busRules,
  cors,
  email,
  type LambdaFunction,
  lambdaFunctions,
  pascalCase,
  queues,
  routes,
  schedules,
  secrets,
  secretsFor,
  throttling,
  web,
} from "../../infra/topology.ts";
import { queueUrlVariable } from "../../packages/functions/src/lib/config.ts";
import { flashstockStack } from "../context.ts";
import { FlashstockStack, type FlashstockStackProps } from "../flashstock-stack.ts";
import { entryOf, functionProps, repoRoot } from "../lambda.ts";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, walked and compared, not typed
type Json = Record<string, any>;
type Resource = {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
  DependsOn?: string | string[];
  UpdateReplacePolicy?: string;
};

const SENDER = "orders@shop.example";
/**
 * Actions that AWS cannot scope to a resource, so that `Resource: "*"` is the only way to grant them.
 * None today: every action the stack grants (logs, events, sqs, ses, lambda:InvokeFunction for the
 * scheduler) takes an ARN. X-Ray tracing (xray:PutTraceSegments) or custom metrics
 * (cloudwatch:PutMetricData) would have to be listed here, with why.
 */
const STAR_ALLOWED: ReadonlyArray<{ action: string; why: string }> = [];

/** One synthesised stage: the stack, its template, and lookups by topology name. */
interface Synth {
  stack: FlashstockStack;
  /** Where the app wrote its assets (the UI's build, config.json) for this test file to read. */
  outdir: string;
  template: Template;
  resources: Record<string, Resource>;
  ofType: (type: string) => Array<[string, Resource]>;
  id: (construct: { node: { defaultChild?: unknown } }) => string;
  fnId: (fn: LambdaFunction) => string;
  /** The logical id of a topology queue (`queue`) or of its dead-letter queue (`dlq`). */
  queueId: (name: string, which: "queue" | "dlq") => string;
  /** Every IAM statement on the role of a function. */
  statementsOf: (fn: LambdaFunction) => Json[];
}

function synth(stage: string, props: Partial<FlashstockStackProps> = {}): Synth {
  // No esbuild here: `aws:cdk:bundling-stacks: []` makes NodejsFunction skip bundling (one test
  // below bundles for real).
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new FlashstockStack(app, `Flashstock-${stage}`, {
    stage,
    sender: SENDER,
    ...props,
  });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const fnId = (fn: LambdaFunction) => {
    const handler = stack.functions.get(fn.name);
    if (!handler) throw new Error(`No function ${fn.name} in the stack`);
    return id(handler);
  };
  const queueId = (name: string, which: "queue" | "dlq") => {
    const q = stack.queues.get(name);
    if (!q) throw new Error(`No queue ${name} in the stack`);
    return id(q[which]);
  };
  const statementsOf = (fn: LambdaFunction) => {
    const role = resources[fnId(fn)]?.Properties.Role["Fn::GetAtt"][0];
    return ofType("AWS::IAM::Policy")
      .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === role))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  };
  return {
    stack,
    outdir: app.outdir,
    template,
    resources,
    ofType,
    id,
    fnId,
    queueId,
    statementsOf,
  };
}

const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
const getAtt = (logicalId: string, attribute = "Arn") => ({ "Fn::GetAtt": [logicalId, attribute] });
const secretReference = (stage: string, name: string) =>
  `{{resolve:secretsmanager:flashstock/${stage}/${name}:SecretString:::}}`;
/** `https://<the distribution's domain>`, as the template spells it. */
const siteUrl = (s: Synth) => ({
  "Fn::Join": ["", ["https://", getAtt(s.id(s.stack.web.distribution), "DomainName")]],
});
/** The function CDK's BucketDeployment runs to copy the web UI into its bucket. */
const webDeployer = (s: Synth) => {
  const [[, deployment] = []] = s.ofType("Custom::CDKBucketDeployment");
  return String(deployment?.Properties.ServiceToken["Fn::GetAtt"][0]);
};

let dev: Synth;
let production: Synth;

beforeAll(() => {
  dev = synth("dev");
  production = synth("production");
});

describe("functions", () => {
  it("creates exactly one Lambda per topology function, nodejs24.x on arm64 with the topology's timeout, memory and handler, beside the web UI's deployer", () => {
    // Prepare
    const expected = lambdaFunctions();

    // Act
    const functions = dev.ofType("AWS::Lambda::Function");

    // Assess
    expect(functions.map(([id]) => id).sort()).toEqual(
      [...expected.map((fn) => dev.fnId(fn)), webDeployer(dev)].sort(),
    );
    for (const fn of expected) {
      const props = dev.resources[dev.fnId(fn)]?.Properties;
      expect(props, fn.name).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Timeout: fn.timeoutSeconds,
        MemorySize: fn.memoryMb,
        Handler: `index.${entryOf(fn.handler).exportName}`,
      });
    }
  });

  it("gives every function, the web UI's deployer too, its own log group that keeps a month of logs", () => {
    // Prepare
    const expected = [...lambdaFunctions().map((fn) => dev.fnId(fn)), webDeployer(dev)];

    // Act
    const logGroups = dev.ofType("AWS::Logs::LogGroup");

    // Assess
    expect(logGroups).toHaveLength(expected.length);
    const used = new Set<string>();
    for (const id of expected) {
      const ref = dev.resources[id]?.Properties.LoggingConfig.LogGroup.Ref;
      expect(dev.resources[ref]?.Properties.RetentionInDays, id).toBe(30);
      used.add(ref);
    }
    expect(used.size).toBe(expected.length);
  });

  it("sets the topology's environment, each needed secret from flashstock/<stage>/<name>, and no other secret", () => {
    // Prepare
    const staging = synth("staging");

    // Act
    const envOf = (s: Synth, fn: LambdaFunction) =>
      s.resources[s.fnId(fn)]?.Properties.Environment.Variables as Json;

    // Assess
    for (const fn of lambdaFunctions()) {
      const env = envOf(staging, fn);
      expect(env.NODE_OPTIONS, fn.name).toBe("--enable-source-maps");
      expect(env.DATABASE_DRIVER, fn.name).toBe(fn.needs.includes("database") ? "neon" : undefined);
      const granted = secretsFor(fn.needs).map((s) => s.name);
      for (const s of secrets) {
        expect(env[s.env], `${fn.name} ${s.env}`).toBe(
          granted.includes(s.name) ? secretReference("staging", s.name) : undefined,
        );
      }
    }
    // The functions read secrets from the template at deploy time, never from Secrets Manager.
    const json = JSON.stringify(staging.template.toJSON());
    expect(json).not.toContain("secretsmanager:GetSecretValue");
    expect(json).not.toContain("flashstock/dev/");
  });

  it("tells publishing functions the bus and every queue URL, and email functions the sender", () => {
    // Prepare
    const busId = dev.id(dev.stack.bus);

    // Act
    const envOf = (fn: LambdaFunction) =>
      dev.resources[dev.fnId(fn)]?.Properties.Environment.Variables as Json;

    // Assess
    for (const fn of lambdaFunctions()) {
      const env = envOf(fn);
      const publishes = fn.needs.includes("publish");
      expect(env.EVENT_BUS_NAME, fn.name).toEqual(publishes ? { Ref: busId } : undefined);
      for (const q of queues) {
        const queueId = dev.queueId(q.name, "queue");
        expect(env[queueUrlVariable(q.name)], `${fn.name} ${q.name}`).toEqual(
          publishes ? { Ref: queueId } : undefined,
        );
      }
      expect(env[email.env], fn.name).toBe(fn.needs.includes("email") ? SENDER : undefined);
    }
  });

  it("tells the functions that send email the web UI's https URL, which their links lead to, and no other", () => {
    // Act
    const envOf = (fn: LambdaFunction) =>
      dev.resources[dev.fnId(fn)]?.Properties.Environment.Variables as Json;

    // Assess
    const told = lambdaFunctions().filter((fn) => envOf(fn)[web.urlEnv] !== undefined);
    expect(told.map((fn) => fn.name)).toEqual(
      lambdaFunctions()
        .filter((fn) => fn.needs.includes("email"))
        .map((fn) => fn.name),
    );
    expect(told.length).toBeGreaterThan(0);
    for (const fn of told) expect(envOf(fn)[web.urlEnv], fn.name).toEqual(siteUrl(dev));
  });
});

describe("HTTP API", () => {
  it("has one route per topology route, keyed by its method and path, integrated with its own function", () => {
    // Prepare
    const http = lambdaFunctions().filter((fn) => fn.trigger.kind === "http");

    // Act
    const routeResources = dev.ofType("AWS::ApiGatewayV2::Route");

    // Assess
    expect(routeResources.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(
      routes.map((r) => `${r.method} ${r.path}`).sort(),
    );
    for (const fn of http) {
      if (fn.trigger.kind !== "http") continue;
      const key = `${fn.trigger.route.method} ${fn.trigger.route.path}`;
      const [, route] = routeResources.find(([, r]) => r.Properties.RouteKey === key) ?? [];
      const integrationId = String(route?.Properties.Target["Fn::Join"][1][1].Ref);
      expect(dev.resources[integrationId]?.Properties, key).toMatchObject({
        IntegrationType: "AWS_PROXY",
        PayloadFormatVersion: "2.0",
        IntegrationUri: getAtt(dev.fnId(fn)),
      });
    }
  });
});

describe("throttling", () => {
  const authKeys = routes
    .filter((r) => r.path.startsWith("/auth/"))
    .map((r) => `${r.method} ${r.path}`)
    .sort();

  it("throttles the stage's every route, and each route under /auth/ tighter, waiting for those routes", () => {
    // Act
    const [[, stage] = []] = dev.ofType("AWS::ApiGatewayV2::Stage");

    // Assess
    expect(stage?.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: throttling.stage.rateLimit,
      ThrottlingBurstLimit: throttling.stage.burstLimit,
    });
    const settings = stage?.Properties.RouteSettings as Record<string, Json>;
    expect(Object.keys(settings).sort()).toEqual(authKeys);
    for (const key of authKeys) {
      expect(settings[key], key).toEqual({
        ThrottlingRateLimit: throttling.auth.rateLimit,
        ThrottlingBurstLimit: throttling.auth.burstLimit,
      });
    }
    expect(throttling.auth.rateLimit).toBeLessThan(throttling.stage.rateLimit);
    // API Gateway refuses settings for a route it does not know: the stage depends on each.
    const routeIdOf = new Map(
      dev.ofType("AWS::ApiGatewayV2::Route").map(([id, r]) => [r.Properties.RouteKey, id]),
    );
    expect(asArray(stage?.DependsOn ?? [])).toEqual(
      expect.arrayContaining(authKeys.map((k) => routeIdOf.get(k))),
    );
  });

  it("reserves concurrency for each auth function, and for no other", () => {
    // Act
    const reserved = lambdaFunctions()
      .map((fn) => [fn, dev.resources[dev.fnId(fn)]?.Properties.ReservedConcurrentExecutions])
      .filter(([, n]) => n !== undefined)
      .map(([fn, n]) => {
        const { trigger } = fn as LambdaFunction;
        return [trigger.kind === "http" ? `${trigger.route.method} ${trigger.route.path}` : "", n];
      });

    // Assess
    expect(reserved.map(([key]) => key).sort()).toEqual(authKeys);
    expect(new Set(reserved.map(([, n]) => n))).toEqual(
      new Set([throttling.authReservedConcurrency]),
    );
  });
});

describe("CORS", () => {
  it.each([
    {
      given: "https://shop.example.com,http://127.0.0.1:3001",
      origins: ["https://shop.example.com", "http://127.0.0.1:3001"],
    },
  ])(
    "gives the HTTP API the topology's CORS policy for the origins in -c corsOrigins ($given) and the stage's web UI",
    ({ given, origins }) => {
      // Prepare
      const app = new App({
        context: { ...cdkJson.context, corsOrigins: given, "aws:cdk:bundling-stacks": [] },
      });

      // Act
      const stack = flashstockStack(app);
      const apis = Object.values(
        Template.fromStack(stack).toJSON().Resources as Record<string, Resource>,
      ).filter((r) => r.Type === "AWS::ApiGatewayV2::Api");

      // Assess
      expect(apis).toHaveLength(1);
      const distribution = stack.getLogicalId(
        stack.web.distribution.node.defaultChild as CfnElement,
      );
      expect(apis[0]?.Properties.CorsConfiguration).toEqual({
        AllowOrigins: [
          ...origins,
          { "Fn::Join": ["", ["https://", getAtt(distribution, "DomainName")]] },
        ],
        AllowMethods: [...cors.allowMethods],
        AllowHeaders: [...cors.allowHeaders],
        ExposeHeaders: [...cors.exposeHeaders],
        MaxAge: cors.maxAgeSeconds,
      });
    },
  );

  it("allows only the stage's own web UI without -c corsOrigins, so that no browser page elsewhere can read an answer", () => {
    // Act
    const [api] = dev.ofType("AWS::ApiGatewayV2::Api");

    // Assess
    expect(api?.[1].Properties.CorsConfiguration.AllowOrigins).toEqual([siteUrl(dev)]);
  });

  it("refuses an origin that is not scheme://host[:port]", () => {
    const app = new App({
      context: { ...cdkJson.context, corsOrigins: "https://shop.example.com/" },
    });
    expect(() => flashstockStack(app)).toThrow(/CORS_ALLOWED_ORIGINS/);
  });
});

describe("queues", () => {
  it("makes each topology queue FIFO with publisher-set deduplication, and its DLQ take a message after maxReceiveCount receives", () => {
    // Prepare
    const sqs = dev.ofType("AWS::SQS::Queue");

    // Act
    const byName = (name: string) => sqs.find(([, r]) => r.Properties.QueueName === name);

    // Assess
    expect(sqs).toHaveLength(2 * queues.length);
    for (const q of queues) {
      const [dlqId, dlq] = byName(`flashstock-dev-${q.name}-dlq.fifo`) ?? [];
      const [, queue] = byName(`flashstock-dev-${q.name}.fifo`) ?? [];
      const fifo = {
        FifoQueue: true,
        // The publisher sets MessageDeduplicationId from the topology's deduplicationId.
        ContentBasedDeduplication: false,
        DeduplicationScope: "queue",
        FifoThroughputLimit: "perQueue",
      };
      expect(dlq?.Properties, `${q.name} DLQ`).toMatchObject(fifo);
      expect(queue?.Properties, q.name).toMatchObject({
        ...fifo,
        VisibilityTimeout: q.visibilityTimeoutSeconds,
        RedrivePolicy: {
          deadLetterTargetArn: getAtt(String(dlqId)),
          maxReceiveCount: q.maxReceiveCount,
        },
      });
    }
  });

  it("subscribes each consumer to its queue in the topology's batch size, reporting partial batch failures", () => {
    // Prepare
    const consumers = lambdaFunctions().filter((fn) => fn.trigger.kind === "queue");

    // Act
    const mappings = dev.ofType("AWS::Lambda::EventSourceMapping");

    // Assess
    expect(mappings).toHaveLength(queues.length);
    for (const fn of consumers) {
      if (fn.trigger.kind !== "queue") continue;
      const queueId = dev.queueId(fn.trigger.queue.name, "queue");
      const [, mapping] =
        mappings.find(([, m]) => m.Properties.FunctionName.Ref === dev.fnId(fn)) ?? [];
      expect(mapping?.Properties, fn.name).toEqual({
        FunctionName: { Ref: dev.fnId(fn) },
        EventSourceArn: getAtt(queueId),
        BatchSize: fn.trigger.queue.consumer.batchSize,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
    }
  });

  it("raises an alarm on the first message in each dead-letter queue", () => {
    // Prepare
    const alarms = dev.ofType("AWS::CloudWatch::Alarm");

    // Act
    const alarmOn = (dlqId: string) =>
      alarms.find(
        ([, a]) =>
          JSON.stringify(a.Properties.Dimensions) ===
          JSON.stringify([{ Name: "QueueName", Value: getAtt(dlqId, "QueueName") }]),
      );

    // Assess
    expect(alarms).toHaveLength(queues.length);
    for (const q of queues) {
      const dlqId = dev.queueId(q.name, "dlq");
      const [, alarm] = alarmOn(dlqId) ?? [];
      expect(alarm?.Properties, q.name).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
      });
      expect(alarm?.Properties.AlarmActions, q.name).toHaveLength(1);
    }
  });
});

describe("bus and schedules", () => {
  it("puts every bus rule on the stage's bus with the topology's pattern, invoking its function", () => {
    // Prepare
    const ruleFunctions = lambdaFunctions().filter((fn) => fn.trigger.kind === "bus");

    // Act
    const rules = dev.ofType("AWS::Events::Rule");

    // Assess
    expect(dev.ofType("AWS::Events::EventBus")[0]?.[1].Properties.Name).toBe(
      "flashstock-dev-events",
    );
    expect(rules).toHaveLength(busRules.length);
    for (const fn of ruleFunctions) {
      if (fn.trigger.kind !== "bus") continue;
      const [, rule] =
        rules.find(([, r]) => r.Properties.Targets[0].Arn["Fn::GetAtt"][0] === dev.fnId(fn)) ?? [];
      expect(rule?.Properties.EventBusName, fn.name).toEqual({ Ref: dev.id(dev.stack.bus) });
      expect(rule?.Properties.EventPattern, fn.name).toEqual(fn.trigger.rule.pattern);
    }
  });

  it("runs each schedule at the topology's rate, invoking its function", () => {
    // Prepare
    const scheduled = lambdaFunctions().filter((fn) => fn.trigger.kind === "schedule");

    // Act
    const found = dev.ofType("AWS::Scheduler::Schedule");

    // Assess
    expect(found).toHaveLength(schedules.length);
    for (const fn of scheduled) {
      if (fn.trigger.kind !== "schedule") continue;
      const [, s] =
        found.find(([, x]) => x.Properties.Target.Arn["Fn::GetAtt"][0] === dev.fnId(fn)) ?? [];
      expect(s?.Properties.ScheduleExpression, fn.name).toBe(fn.trigger.schedule.rate);
    }
  });
});

describe("IAM", () => {
  it("never grants an action on every resource, and attaches no managed policy", () => {
    // Prepare
    const policies = dev.ofType("AWS::IAM::Policy");
    const roles = dev.ofType("AWS::IAM::Role");

    // Act
    const starred = policies.flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .filter((s) => asArray(s.Resource).includes("*"))
        .filter(
          (s) => !asArray<string>(s.Action).every((a) => STAR_ALLOWED.some((x) => x.action === a)),
        )
        .map((s) => `${id}: ${JSON.stringify(s.Action)}`),
    );

    // Assess
    expect(policies.length).toBeGreaterThan(0);
    expect(starred).toEqual([]);
    // AWSLambdaBasicExecutionRole (CDK's default) would allow logs:* on "*".
    expect(
      roles.filter(([, r]) => r.Properties.ManagedPolicyArns || r.Properties.Policies),
    ).toEqual([]);
  });

  it("grants each function exactly the actions its needs and trigger require, on its own resources", () => {
    // Prepare
    const busArn = getAtt(dev.id(dev.stack.bus));
    const queueArns = queues.map((q) => getAtt(dev.queueId(q.name, "queue")));
    const identity = dev.id(dev.stack.node.findChild(email.name));

    for (const fn of lambdaFunctions()) {
      // Act
      const statements = dev.statementsOf(fn);
      const byAction = (action: string) =>
        statements.filter((s) => asArray(s.Action).includes(action));
      const actions = statements.flatMap((s) => asArray<string>(s.Action)).sort();

      // Assess
      const expected = ["logs:CreateLogStream", "logs:PutLogEvents"];
      if (fn.needs.includes("publish")) expected.push("events:PutEvents", "sqs:SendMessage");
      if (fn.needs.includes("email")) expected.push("ses:SendEmail", "ses:SendRawEmail");
      if (fn.trigger.kind === "queue") {
        expected.push(
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
          "sqs:ReceiveMessage",
        );
      }
      expect(actions, fn.name).toEqual(expected.sort());

      const logGroup = dev.resources[dev.fnId(fn)]?.Properties.LoggingConfig.LogGroup.Ref;
      expect(byAction("logs:PutLogEvents")[0]?.Resource, fn.name).toEqual(getAtt(logGroup));
      if (fn.needs.includes("publish")) {
        expect(byAction("events:PutEvents")[0]?.Resource, fn.name).toEqual(busArn);
        // The topology's queues, not their dead-letter queues.
        expect(asArray(byAction("sqs:SendMessage")[0]?.Resource), fn.name).toEqual(queueArns);
      }
      if (fn.needs.includes("email")) {
        const resource = JSON.stringify(byAction("ses:SendEmail")[0]?.Resource);
        expect(resource, fn.name).toContain(":identity/");
        expect(resource, fn.name).toContain(JSON.stringify({ Ref: identity }));
      }
      if (fn.trigger.kind === "queue") {
        const own = getAtt(dev.queueId(fn.trigger.queue.name, "queue"));
        expect(byAction("sqs:ReceiveMessage")[0]?.Resource, fn.name).toEqual(own);
      }
    }
  });

  it("verifies the sender as the stack's one SES identity", () => {
    // Prepare
    const identities = dev.ofType("AWS::SES::EmailIdentity");

    // Act
    const names = identities.map(([, r]) => r.Properties.EmailIdentity);

    // Assess
    expect(names).toEqual([SENDER]);
  });
});

describe("web UI", () => {
  /** The two uploads: the hashed assets, and the files that keep their names (with config.json). */
  const deployments = (s: Synth) => {
    const all = s.ofType("Custom::CDKBucketDeployment");
    const hashed = all.find(([, d]) => d.Properties.DestinationBucketKeyPrefix);
    const entry = all.find(([, d]) => d.Properties.DistributionId);
    if (all.length !== 2 || !hashed || !entry) throw new Error("Expected the two web deployments");
    return { hashed, entry };
  };
  /** The files of a deployment's n-th source, as the app staged them. */
  const staged = (s: Synth, deployment: Resource, n: number) => {
    const key = String(deployment.Properties.SourceObjectKeys[n]);
    const dir = join(s.outdir, `asset.${key.replace(/\.zip$/, "")}`);
    return readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort()
      .map((f) => ({ name: f, text: () => readFileSync(join(dir, f), "utf8") }));
  };
  it("keeps the UI's build in a private bucket that only the distribution reads, through origin access control", () => {
    // Prepare
    const bucketId = dev.id(dev.stack.web.bucket);
    const distributionId = dev.id(dev.stack.web.distribution);

    // Act
    const bucket = dev.resources[bucketId];
    const [[, policy] = []] = dev.ofType("AWS::S3::BucketPolicy");
    const [[oacId, oac] = []] = dev.ofType("AWS::CloudFront::OriginAccessControl");
    const [origin] = dev.resources[distributionId]?.Properties.DistributionConfig.Origins ?? [];

    // Assess
    expect(bucket?.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket?.Properties.WebsiteConfiguration).toBeUndefined();
    expect(oac?.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: "s3",
      SigningBehavior: "always",
      SigningProtocol: "sigv4",
    });
    expect(origin).toMatchObject({
      DomainName: getAtt(bucketId, "RegionalDomainName"),
      OriginAccessControlId: getAtt(String(oacId), "Id"),
    });
    const statements = policy?.Properties.PolicyDocument.Statement as Json[];
    expect(policy?.Properties.Bucket).toEqual({ Ref: bucketId });
    // Plain HTTP refused (enforceSSL); reads only by CloudFront, for this distribution only.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Action: "s3:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
    const reads = statements.filter((x) => x.Effect === "Allow");
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      Action: "s3:GetObject",
      Principal: { Service: "cloudfront.amazonaws.com" },
    });
    expect(JSON.stringify(reads[0]?.Condition)).toContain(JSON.stringify({ Ref: distributionId }));
  });

  it("serves index.html at the root and, with status 200, for every path that is no file, over HTTPS only", () => {
    // Act
    const config = dev.resources[dev.id(dev.stack.web.distribution)]?.Properties.DistributionConfig;

    // Assess
    expect(config.DefaultRootObject).toBe(web.indexDocument);
    // Without s3:ListBucket, S3 answers a missing key with 403, so both codes mean "a UI page".
    expect(config.CustomErrorResponses).toEqual(
      [403, 404].map((code) => ({
        ErrorCode: code,
        ResponseCode: 200,
        ResponsePagePath: `/${web.indexDocument}`,
        ErrorCachingMinTTL: 0,
      })),
    );
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe("redirect-to-https");
  });

  /** config.json as the deployment will write it, its deploy-time values as template tokens. */
  function configJsonOf(s: Synth): { name: string | undefined; content: Json } {
    const [, d] = deployments(s).entry;
    const configSource = (d.Properties.SourceMarkers as Json[]).findIndex(
      (m) => Object.keys(m).length > 0,
    );
    const [configFile] = staged(s, d, configSource);
    const markers = d.Properties.SourceMarkers[configSource] as Json;
    const content = JSON.parse(String(configFile?.text()), (_, v) =>
      typeof v === "string" && v in markers ? markers[v] : v,
    );
    return { name: configFile?.name, content };
  }

  it("uploads config.json naming the stage's API, filled in at deploy time, and then invalidates every path", () => {
    // Act
    const { hashed, entry } = deployments(dev);
    const [, d] = entry;
    const config = configJsonOf(dev);

    // Assess
    expect(config.name).toBe(web.configFile);
    // The shape startApi() in packages/web/src/api.ts reads; no card without a publishable key.
    expect(config.content).toEqual({ apiUrl: getAtt(dev.id(dev.stack.api), "ApiEndpoint") });
    expect(d.Properties.DestinationBucketName).toEqual({ Ref: dev.id(dev.stack.web.bucket) });
    expect(d.Properties.DistributionId).toEqual({ Ref: dev.id(dev.stack.web.distribution) });
    expect(d.Properties.DistributionPaths).toEqual(["/*"]);
    // The invalidation comes once the assets a new index.html names are in the bucket.
    expect(asArray(d.DependsOn ?? [])).toContain(hashed[0]);
  });

  it("puts Stripe's publishable key from -c stripePublishableKey in config.json, so the storefront offers cards", () => {
    // Prepare
    const cards = synth("cards", { stripePublishableKey: "pk_test_flashstock" });

    // Act
    const config = configJsonOf(cards);

    // Assess
    expect(config.content).toEqual({
      apiUrl: getAtt(cards.id(cards.stack.api), "ApiEndpoint"),
      stripePublishableKey: "pk_test_flashstock",
    });
  });

  it("caches the hashed assets for a year and has index.html and config.json revalidated, pruning neither's files by the other", () => {
    // Act
    const { hashed, entry } = deployments(dev);
    const hashedFiles = staged(dev, hashed[1], 0).map((f) => f.name);
    const entrySource = staged(dev, entry[1], 0);
    const entryFiles = entrySource.map((f) => f.name);
    const index = entrySource.find((f) => f.name === web.indexDocument)?.text() ?? "";

    // Assess
    expect(hashed[1].Properties).toMatchObject({
      DestinationBucketKeyPrefix: `${web.hashedAssets}/`,
      SystemMetadata: { "cache-control": web.cacheControl.hashed },
      // A page loaded before a deploy still imports its chunks by their old names.
      Prune: false,
    });
    expect(entry[1].Properties).toMatchObject({
      SystemMetadata: { "cache-control": web.cacheControl.entry },
      Prune: true,
      Exclude: [`${web.hashedAssets}/*`],
    });
    expect(web.cacheControl.entry).toBe("no-cache");
    // Every script and stylesheet index.html names is in the hashed upload.
    const named = [...index.matchAll(new RegExp(`"/${web.hashedAssets}/([^"]+)"`, "g"))].map(
      ([, name]) => name,
    );
    expect(named.length).toBeGreaterThan(0);
    expect(hashedFiles).toEqual(expect.arrayContaining(named));
    expect(entryFiles).toContain(web.indexDocument);
    expect(
      entryFiles.filter((f) => f.startsWith(web.hashedAssets) || f === web.configFile),
    ).toEqual([]);
  });

  it("makes the distribution depend on its bucket alone, so that the functions and the API can depend on it", () => {
    // Prepare
    const distributionId = dev.id(dev.stack.web.distribution);
    const references = (x: unknown): string[] =>
      Array.isArray(x)
        ? x.flatMap(references)
        : x && typeof x === "object"
          ? Object.entries(x).flatMap(([k, v]) =>
              k === "Ref" ? [String(v)] : k === "Fn::GetAtt" ? [String(v[0])] : references(v),
            )
          : [];

    // Act
    const distribution = dev.resources[distributionId];
    const dependsOn = [
      ...references(distribution?.Properties),
      ...asArray(distribution?.DependsOn ?? []),
    ].filter((id) => id in dev.resources);

    // Assess: a cycle would already have failed the synthesis (Template.fromStack refuses one).
    const [[oacId] = []] = dev.ofType("AWS::CloudFront::OriginAccessControl");
    expect(new Set(dependsOn)).toEqual(new Set([dev.id(dev.stack.web.bucket), oacId]));
  });

  it("lets the deployer write only the site's bucket and invalidate only the site's distribution", () => {
    // Prepare
    const role = dev.resources[webDeployer(dev)]?.Properties.Role["Fn::GetAtt"][0];

    // Act
    const statements = dev
      .ofType("AWS::IAM::Policy")
      .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === role))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    const granting = (action: string) =>
      statements.filter((x) => asArray(x.Action).includes(action)).map((x) => x.Resource);

    // Assess
    expect(granting("cloudfront:CreateInvalidation")).toEqual([
      {
        "Fn::Join": [
          "",
          [
            "arn:",
            { Ref: "AWS::Partition" },
            ":cloudfront::",
            { Ref: "AWS::AccountId" },
            ":distribution/",
            { Ref: dev.id(dev.stack.web.distribution) },
          ],
        ],
      },
    ]);
    const bucketArn = getAtt(dev.id(dev.stack.web.bucket));
    expect(granting("s3:PutObject")).toEqual([
      [bucketArn, { "Fn::Join": ["", [bucketArn, "/*"]] }],
    ]);
    const logGroup = dev.resources[webDeployer(dev)]?.Properties.LoggingConfig.LogGroup.Ref;
    expect(granting("logs:PutLogEvents")).toEqual([getAtt(logGroup)]);
  });
});

describe("stages", () => {
  it("retains production's queues, logs and web UI and protects its stack from deletion", () => {
    // Prepare
    const kept = ["AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::S3::Bucket"];

    // Act
    const policies = kept.flatMap((t) =>
      production.ofType(t).map(([, r]) => `${r.DeletionPolicy}/${r.UpdateReplacePolicy}`),
    );
    const deployments = production.ofType("Custom::CDKBucketDeployment");

    // Assess
    expect(production.stack.terminationProtection).toBe(true);
    expect(new Set(policies)).toEqual(new Set(["Retain/Retain"]));
    expect(deployments.map(([, d]) => d.Properties.RetainOnDelete)).toEqual([true, true]);
  });

  it("lets any other stage be removed with everything in it, its web UI's files first", () => {
    // Prepare
    const removable = ["AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::S3::Bucket"];

    // Act
    const policies = removable.flatMap((t) =>
      dev.ofType(t).map(([, r]) => `${r.DeletionPolicy}/${r.UpdateReplacePolicy}`),
    );
    const deployments = dev.ofType("Custom::CDKBucketDeployment");

    // Assess
    expect(dev.stack.terminationProtection).toBe(false);
    expect(new Set(policies)).toEqual(new Set(["Delete/Delete"]));
    // S3 deletes no bucket with files in it: the deployments take theirs when they are deleted.
    expect(deployments.map(([, d]) => d.Properties.RetainOnDelete)).toEqual([false, false]);
  });

  it("names the stack and resources after the stage from context, with cdk.json's defaults", () => {
    // Prepare
    const defaults = cdkJson.context;
    const withDefaults = new App({ context: { ...defaults, "aws:cdk:bundling-stacks": [] } });
    const staging = new App({
      context: { ...defaults, stage: "staging", sender: SENDER, "aws:cdk:bundling-stacks": [] },
    });

    // Act
    const dflt = flashstockStack(withDefaults);
    const stg = flashstockStack(staging);

    // Assess
    expect(dflt.stackName).toBe("Flashstock-dev");
    expect(stg.stackName).toBe("Flashstock-staging");
    expect(Template.fromStack(stg).toJSON().Resources).toSatisfy((r: Record<string, Resource>) =>
      Object.values(r)
        .filter((x) => x.Type === "AWS::SQS::Queue")
        .every((q) => String(q.Properties.QueueName).startsWith("flashstock-staging-")),
    );
    expect(() => flashstockStack(new App({ context: { stage: "x" } }))).toThrow(/sender/);
    expect(() =>
      flashstockStack(new App({ context: { stage: "Bad Stage", sender: SENDER } })),
    ).toThrow(/Stage/);
  });

  it("is environment-agnostic and outputs the API URL, the web UI's URL, the bus name and every queue URL", () => {
    // Prepare
    const outputs = dev.template.toJSON().Outputs as Record<string, Json>;

    // Act
    const names = Object.keys(outputs);

    // Assess
    expect(Token.isUnresolved(dev.stack.account)).toBe(true);
    expect(Token.isUnresolved(dev.stack.region)).toBe(true);
    expect(outputs.ApiUrl?.Value).toEqual(getAtt(dev.id(dev.stack.api), "ApiEndpoint"));
    expect(outputs.WebUrl?.Value).toEqual(siteUrl(dev));
    expect(outputs.EventBusName?.Value).toEqual({ Ref: dev.id(dev.stack.bus) });
    expect(names).toEqual(
      expect.arrayContaining(queues.map((q) => `${pascalCase(q.name)}QueueUrl`)),
    );
  });
});

describe("bundling", () => {
  let outdir: string;
  afterAll(() => outdir && rmSync(outdir, { recursive: true, force: true }));

  it("bundles a function as bench/bundle.ts does: one minified ESM file with the require banner and a source map", () => {
    // Prepare: the smallest function, in a stack of its own, with bundling on.
    const fn = lambdaFunctions().find((f) => f.trigger.kind === "bus");
    if (!fn) throw new Error("The topology has no bus function to bundle");
    outdir = mkdtempSync(join(tmpdir(), "flashstock-cdk-"));
    const app = new App({ outdir });
    const stack = new Stack(app, "Bundle");
    new NodejsFunction(stack, fn.name, functionProps(fn, repoRoot));

    // Act
    app.synth();

    // Assess
    const assetDir = readdirSync(outdir).find((d) => d.startsWith("asset."));
    expect(assetDir).toBeDefined();
    const dir = join(outdir, String(assetDir));
    const code = readFileSync(join(dir, "index.mjs"), "utf8");
    expect(code.startsWith("import { createRequire as __cr } from 'node:module';")).toBe(true);
    expect(code).toMatch(
      new RegExp(`export\\s*\\{[^}]*\\bas ${entryOf(fn.handler).exportName}\\b`),
    );
    expect(code.split("\n").length).toBeLessThan(10); // minified
    expect(existsSync(join(dir, "index.mjs.map"))).toBe(true);
    expect(statSync(join(dir, "index.mjs")).size).toBeLessThan(300 * 1024);
  }, 60_000);
});
