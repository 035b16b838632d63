/**
 * The whole system as one CDK stack, built from infra/topology.ts: the same routes, queues, bus
 * rules, schedules, secrets, sender and web UI that the local runtime and sst.config.ts read. This
 * file only says how each part of the topology maps to CloudFormation; what exists is the
 * topology's.
 */
import { join } from "node:path";
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
} from "aws-cdk-lib";
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  type HttpRoute,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { EventBus, type EventPattern, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction as LambdaTarget } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { ScheduleExpression, Schedule as SchedulerSchedule } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { EmailIdentity, Identity } from "aws-cdk-lib/aws-ses";
import { Topic } from "aws-cdk-lib/aws-sns";
import { DeduplicationScope, FifoThroughputLimit, Queue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  type BusRule,
  bus,
  cors,
  email,
  environmentFor,
  type LambdaFunction,
  lambdaFunctions,
  pascalCase,
  queues,
  routeThrottles,
  type SecretName,
  secretsFor,
  throttling,
  web,
} from "../infra/topology.ts";
import { queueUrlVariable } from "../packages/functions/src/lib/config.ts";
import { functionProps, repoRoot } from "./lambda.ts";
import { WebSite } from "./web-site.ts";

export interface FlashstockStackProps extends StackProps {
  /** `dev`, a developer's name, `staging`, `production`: part of every physical name. */
  stage: string;
  /** The address every email is sent from (an SES identity, verified once per account/region). */
  sender: string;
  /**
   * Origins whose browser pages may call the API (the topology's CORS policy), besides the stage's
   * own web UI, which always may.
   */
  corsOrigins?: readonly string[];
  /** Stripe's publishable key, for the web UI's config.json: with it the storefront offers cards. */
  stripePublishableKey?: string;
}

/** The stage whose data outlives the stack and whose stack cannot be deleted by accident. */
export const PRODUCTION = "production";

/** The Secrets Manager name of a topology secret for a stage. */
export const secretName = (stage: string, name: SecretName) => `flashstock/${stage}/${name}`;

export class FlashstockStack extends Stack {
  readonly api: HttpApi;
  /** The API's routes by route key (`POST /auth/login`). */
  private readonly routes = new Map<string, HttpRoute>();
  readonly bus: EventBus;
  readonly queues: ReadonlyMap<string, { queue: Queue; dlq: Queue }>;
  readonly functions: ReadonlyMap<string, NodejsFunction>;
  readonly web: WebSite;

  constructor(scope: Construct, id: string, props: FlashstockStackProps) {
    const { stage, sender } = props;
    if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
      throw new Error(`Stage "${stage}" must be 1-20 lowercase letters, digits or dashes`);
    }
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(sender)) {
      throw new Error(`Sender "${sender}" is not an email address (-c sender=orders@example.com)`);
    }
    const production = stage === PRODUCTION;
    super(scope, id, {
      description: `flashstock (${stage}): the API, FIFO queues, bus, schedules and web UI of infra/topology.ts`,
      terminationProtection: production,
      ...props,
    });
    // Data (undelivered messages, logs) outlives a production stack; other stages clean up.
    const removalPolicy = production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const prefix = `flashstock-${stage}`;

    // --- Alarms: one topic that operators subscribe to (email, chat) after the first deploy.
    const alarmTopic = new Topic(this, "AlarmTopic", { displayName: `${prefix} alarms` });
    const alarmAction: IAlarmAction = new SnsAction(alarmTopic);

    // --- FIFO queues, each with its dead-letter queue and an alarm on it.
    const queueMap = new Map<string, { queue: Queue; dlq: Queue }>();
    for (const q of queues) {
      const id = pascalCase(q.name);
      const fifo = {
        fifo: true,
        // The publisher sets MessageDeduplicationId itself (topology `deduplicationId`), so SQS must
        // not derive one from the body.
        contentBasedDeduplication: false,
        // Deduplication and throughput per queue: the SQS defaults, stated so nobody wonders.
        deduplicationScope: DeduplicationScope.QUEUE,
        fifoThroughputLimit: FifoThroughputLimit.PER_QUEUE,
        removalPolicy,
      } as const;
      const dlq = new Queue(this, `${id}Dlq`, {
        ...fifo,
        queueName: `${prefix}-${q.name}-dlq.fifo`,
        // The longest SQS allows: time to find out why, fix, and redrive.
        retentionPeriod: Duration.days(14),
      });
      const queue = new Queue(this, `${id}Queue`, {
        ...fifo,
        queueName: `${prefix}-${q.name}.fifo`,
        visibilityTimeout: Duration.seconds(q.visibilityTimeoutSeconds),
        deadLetterQueue: { queue: dlq, maxReceiveCount: q.maxReceiveCount },
      });
      new Alarm(this, `${id}DlqAlarm`, {
        alarmName: `${prefix}-${q.name}-dlq`,
        alarmDescription: `Messages of ${q.name} failed ${q.maxReceiveCount} times and wait in ${dlq.node.id}: look at the consumer's logs, fix, redrive.`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(alarmAction);
      queueMap.set(q.name, { queue, dlq });
    }
    this.queues = queueMap;

    // --- The bus every event goes to.
    this.bus = new EventBus(this, pascalCase(bus.name), { eventBusName: `${prefix}-${bus.name}` });

    // --- The sender identity. SES keeps it in "pending verification" until the mailbox owner
    // clicks the link SES sends (and the account is out of the sandbox to mail anyone else).
    const senderIdentity = new EmailIdentity(this, email.name, {
      identity: Identity.email(sender),
    });

    // --- Secrets: created once per stage by an operator (`aws secretsmanager create-secret`), never
    // by this stack, so that a stack deletion cannot lose them.
    const imported = new Map<SecretName, ISecret>();
    const secretFor = (name: SecretName) => {
      let s = imported.get(name);
      if (!s) {
        s = Secret.fromSecretNameV2(this, `${name}Secret`, secretName(stage, name));
        imported.set(name, s);
      }
      return s;
    };

    // --- The web UI's bucket and distribution. They depend on nothing else here, so that the
    // functions (whose emails link to it) and the API (which its pages call) can depend on them.
    this.web = new WebSite(this, web.name, {
      dist: join(repoRoot, web.path, web.build.output),
      production,
      description: `flashstock (${stage}) web UI`,
    });

    // --- One function per topology function, with only what its needs say.
    const fns = new Map<string, NodejsFunction>();
    this.api = new HttpApi(this, "Api", {
      apiName: `${prefix}-api`,
      description: `flashstock (${stage}) HTTP API`,
      // API Gateway answers preflight itself and adds the headers to every answer. The stage's own
      // web UI is always an allowed origin; -c corsOrigins adds others.
      corsPreflight: {
        allowOrigins: [...(props.corsOrigins ?? []), this.web.url],
        allowMethods: cors.allowMethods.map((m) => CorsHttpMethod[m]),
        allowHeaders: [...cors.allowHeaders],
        exposeHeaders: [...cors.exposeHeaders],
        maxAge: Duration.seconds(cors.maxAgeSeconds),
      },
    });
    for (const fn of lambdaFunctions()) {
      const handler = this.lambda(fn, { prefix, removalPolicy, secretFor });
      fns.set(fn.name, handler);
      this.grantNeeds(fn, handler, senderIdentity, sender);
      this.trigger(fn, handler);
    }
    this.functions = fns;
    this.throttleStage();
    this.web.deploy(this.api.apiEndpoint, props.stripePublishableKey);

    new CfnOutput(this, "ApiUrl", { value: this.api.apiEndpoint, description: "The HTTP API" });
    new CfnOutput(this, "WebUrl", { value: this.web.url, description: "The web UI" });
    new CfnOutput(this, "EventBusName", { value: this.bus.eventBusName });
    for (const [name, { queue, dlq }] of queueMap) {
      new CfnOutput(this, `${pascalCase(name)}QueueUrl`, { value: queue.queueUrl });
      new CfnOutput(this, `${pascalCase(name)}DlqUrl`, { value: dlq.queueUrl });
    }
    new CfnOutput(this, "AlarmTopicArn", {
      value: alarmTopic.topicArn,
      description: "Subscribe to hear about messages in a dead-letter queue",
    });
  }

  /** The function, its own role (nothing but its log group) and its log group. */
  private lambda(
    fn: LambdaFunction,
    ctx: {
      prefix: string;
      removalPolicy: RemovalPolicy;
      secretFor: (name: SecretName) => ISecret;
    },
  ): NodejsFunction {
    const logGroup = new LogGroup(this, `${fn.name}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: ctx.removalPolicy,
    });
    // Our own role instead of CDK's default: that one carries AWSLambdaBasicExecutionRole, whose
    // logs:* statements have Resource "*". This one may write to its own log group only.
    const role = new Role(this, `${fn.name}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `flashstock ${fn.name}`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [`${logGroup.logGroupArn}`],
      }),
    );

    const environment: Record<string, string> = { ...environmentFor(fn) };
    // Each secret becomes a CloudFormation dynamic reference ({{resolve:secretsmanager:...}}),
    // resolved when CloudFormation deploys, so the function needs no secretsmanager permission and
    // no call at cold start. The trade-off: the value then lives in the function's configuration
    // (encrypted at rest with the Lambda service key, but readable by anyone allowed
    // lambda:GetFunctionConfiguration), and a rotated secret reaches the function only at the next
    // deploy. Fetching at runtime (Parameters and Secrets extension, or GetSecretValue) would avoid
    // both at the cost of latency and a per-function secretsmanager:GetSecretValue grant.
    for (const s of secretsFor(fn.needs)) {
      environment[s.env] = SecretValue.secretsManager(
        ctx.secretFor(s.name).secretName,
      ).unsafeUnwrap();
    }

    return new NodejsFunction(this, fn.name, {
      ...functionProps(fn, repoRoot),
      role,
      logGroup,
      environment,
    });
  }

  /** IAM and environment for the needs that reach AWS services (the secrets are done above). */
  private grantNeeds(
    fn: LambdaFunction,
    handler: NodejsFunction,
    senderIdentity: EmailIdentity,
    sender: string,
  ): void {
    if (fn.needs.includes("publish")) {
      handler.addEnvironment("EVENT_BUS_NAME", this.bus.eventBusName);
      // Scoped to this bus: a PutEvents entry names its bus, and the relay has no other.
      this.bus.grantPutEventsTo(handler);
      const arns: string[] = [];
      for (const [name, { queue }] of this.queues) {
        handler.addEnvironment(queueUrlVariable(name), queue.queueUrl);
        arns.push(queue.queueArn);
      }
      // SendMessageBatch is authorised as sqs:SendMessage. The dead-letter queues are not here:
      // only SQS moves messages into them.
      handler.addToRolePolicy(
        new PolicyStatement({ actions: ["sqs:SendMessage"], resources: arns }),
      );
    }
    if (fn.needs.includes("email")) {
      handler.addEnvironment(email.env, sender);
      // ses:SendEmail and ses:SendRawEmail on this identity's ARN only (SESv2 SendEmail is
      // authorised as ses:SendEmail on the From identity).
      senderIdentity.grantSendEmail(handler);
      // Emails about a held order show the calls that resolve it. An HTTP function with `email`
      // would make the API depend on itself, so only the others get it.
      if (fn.trigger.kind !== "http") handler.addEnvironment("API_URL", this.api.apiEndpoint);
      // Emails link to the UI's pages (reset, stock, ops desk, order).
      handler.addEnvironment(web.urlEnv, this.web.url);
    }
  }

  /**
   * The stage's throttles from the topology: a default for every route, tighter ones by route key.
   * API Gateway refuses a route setting for a route it does not know yet, so the stage waits for
   * those routes.
   */
  private throttleStage(): void {
    const stage = this.api.defaultStage;
    if (!stage) throw new Error("The API has no default stage to throttle");
    const cfnStage = stage.node.defaultChild as CfnStage;
    cfnStage.defaultRouteSettings = {
      throttlingRateLimit: throttling.stage.rateLimit,
      throttlingBurstLimit: throttling.stage.burstLimit,
    };
    // RouteSettings is raw JSON to CloudFormation: its keys are written as the template spells them.
    cfnStage.routeSettings = Object.fromEntries(
      routeThrottles().map(({ routeKey, rateLimit, burstLimit }) => [
        routeKey,
        { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
      ]),
    );
    for (const { routeKey } of routeThrottles()) {
      const route = this.routes.get(routeKey);
      if (!route) throw new Error(`No route ${routeKey} to throttle`);
      cfnStage.node.addDependency(route);
    }
  }

  /** What invokes the function: its route, queue, bus rule or schedule. */
  private trigger(fn: LambdaFunction, handler: NodejsFunction): void {
    const t = fn.trigger;
    switch (t.kind) {
      case "http": {
        const [route] = this.api.addRoutes({
          path: t.route.path,
          methods: [HttpMethod[t.route.method]],
          integration: new HttpLambdaIntegration(`${fn.name}Integration`, handler),
        });
        if (route) this.routes.set(`${t.route.method} ${t.route.path}`, route);
        return;
      }
      case "queue": {
        const q = this.queues.get(t.queue.name);
        if (!q) throw new Error(`No queue ${t.queue.name}`);
        handler.addEventSource(
          new SqsEventSource(q.queue, {
            batchSize: t.queue.consumer.batchSize,
            // The consumer reports the messages it failed; SQS redelivers only those (and, FIFO,
            // the rest of their group). No maxBatchingWindow: FIFO event sources refuse one.
            reportBatchItemFailures: true,
          }),
        );
        return;
      }
      case "bus":
        new Rule(this, `${fn.name}Rule`, {
          eventBus: this.bus,
          description: `${t.rule.name} -> ${fn.handler}`,
          eventPattern: eventPattern(t.rule),
          targets: [new LambdaTarget(handler, { retryAttempts: 2 })],
        });
        return;
      case "schedule":
        new SchedulerSchedule(this, `${fn.name}Schedule`, {
          description: `${t.schedule.name} -> ${fn.handler}`,
          schedule: ScheduleExpression.expression(t.schedule.rate),
          // A missed run is made up by the next one (the relay drains the whole outbox), so no
          // retries that would overlap it.
          target: new LambdaInvoke(handler, { retryAttempts: 0 }),
        });
        return;
    }
  }
}

/** The topology's pattern (EventBridge JSON keys) as CDK's EventPattern (camelCase keys). */
export function eventPattern(rule: BusRule): EventPattern {
  const p = rule.pattern;
  return {
    ...(p.source ? { source: [...p.source] } : {}),
    ...(p["detail-type"] ? { detailType: [...p["detail-type"]] } : {}),
  };
}
