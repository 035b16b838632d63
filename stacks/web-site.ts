/**
 * The web UI in the CDK stack: its build in a private bucket that only CloudFront reads (origin
 * access control), the distribution answering every path that is no file with `index.html`, and at
 * each deploy the build plus `config.json` naming the stage's API. Everything it serves is named in
 * `web` of infra/topology.ts.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Distribution, HttpVersion, ViewerProtocolPolicy } from "aws-cdk-lib/aws-cloudfront";
import { S3BucketOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import {
  type AddToPrincipalPolicyResult,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { BlockPublicAccess, Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { BucketDeployment, CacheControl, Source } from "aws-cdk-lib/aws-s3-deployment";
import { Construct } from "constructs";
import { web, webConfig } from "../infra/topology.ts";

export interface WebSiteProps {
  /** The UI's build (`npm run build:web`; stacks/app.ts builds it when its sources are newer). */
  dist: string;
  /** Production keeps the bucket and its files when the stack goes; other stages remove them. */
  production: boolean;
  description: string;
}

export class WebSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the site, which emails link to and the API lets call it. */
  readonly url: string;
  private readonly dist: string;
  private readonly production: boolean;

  constructor(scope: Construct, id: string, props: WebSiteProps) {
    super(scope, id);
    if (!existsSync(join(props.dist, web.indexDocument))) {
      throw new Error(
        `No web UI build in ${props.dist}: run \`npm run build:web\` (\`npx cdk\` runs it itself)`,
      );
    }
    this.dist = props.dist;
    this.production = props.production;

    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const spaFallback = (httpStatus: number) => ({
      httpStatus,
      responseHttpStatus: 200,
      responsePagePath: `/${web.indexDocument}`,
      // Cached as briefly as CloudFront allows: the answer is index.html, which a deploy changes.
      ttl: Duration.seconds(0),
    });
    this.distribution = new Distribution(this, "Distribution", {
      comment: props.description,
      defaultRootObject: web.indexDocument,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        // The default cache policy (CachingOptimized) keeps each object as its Cache-Control says.
      },
      // Without s3:ListBucket, S3 answers a missing key with 403: both mean "a page of the UI".
      errorResponses: [spaFallback(403), spaFallback(404)],
      httpVersion: HttpVersion.HTTP2_AND_3,
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * Uploads the build and config.json naming `apiUrl`, then invalidates the distribution's cache.
   * Two uploads, since a BucketDeployment sets one Cache-Control on all it uploads: the hashed
   * assets first, then what keeps its name (index.html, config.json), so that no new index.html is
   * served before the assets it names.
   */
  deploy(apiUrl: string, stripePublishableKey?: string): void {
    const logGroup = new LogGroup(this, "DeploymentLogs", {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: this.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = new DeploymentRole(this, "DeploymentRole", this.distribution);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );
    const shared = {
      destinationBucket: this.bucket,
      role,
      logGroup,
      // Another stage's bucket is emptied when its stack is deleted, so the bucket can go too.
      retainOnDelete: this.production,
    };

    const hashed = new BucketDeployment(this, "HashedAssets", {
      ...shared,
      sources: [Source.asset(join(this.dist, web.hashedAssets))],
      destinationKeyPrefix: `${web.hashedAssets}/`,
      cacheControl: [CacheControl.fromString(web.cacheControl.hashed)],
      // A page loaded before this deploy still imports its own chunks by their old names.
      prune: false,
    });
    const entry = new BucketDeployment(this, "EntryFiles", {
      ...shared,
      sources: [
        Source.asset(this.dist, {
          exclude: [web.hashedAssets, `${web.hashedAssets}/**`, web.configFile],
        }),
        Source.jsonData(web.configFile, webConfig(apiUrl, stripePublishableKey)),
      ],
      // Pruning what an earlier deploy left, but never the hashed assets uploaded above.
      exclude: [`${web.hashedAssets}/*`],
      cacheControl: [CacheControl.fromString(web.cacheControl.entry)],
      distribution: this.distribution,
      distributionPaths: ["/*"],
    });
    entry.node.addDependency(hashed);
  }
}

/**
 * The role of CDK's deployment function, holding what it needs and no more. Our own rather than
 * CDK's default, which carries AWSLambdaBasicExecutionRole (logs:* on every resource); and CDK grants
 * the invalidation on every distribution, which this role narrows to the one the function invalidates.
 */
class DeploymentRole extends Role {
  private readonly distributionArn: string;

  constructor(scope: Construct, id: string, distribution: Distribution) {
    super(scope, id, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "flashstock web UI deployment",
    });
    this.distributionArn = distribution.distributionArn;
  }

  override addToPrincipalPolicy(statement: PolicyStatement): AddToPrincipalPolicyResult {
    const invalidates = statement.actions.some((a) => a.startsWith("cloudfront:"));
    if (invalidates && statement.resources.includes("*")) {
      return super.addToPrincipalPolicy(
        new PolicyStatement({
          effect: statement.effect,
          actions: statement.actions,
          resources: [this.distributionArn],
        }),
      );
    }
    return super.addToPrincipalPolicy(statement);
  }
}
