/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy -c stage=<name> -c sender=<address>` (cdk.json
 * runs this file). One stack per stage, environment-agnostic: the account and region are those of
 * the deploying credentials.
 */
import { App } from "aws-cdk-lib";
import { flashstockStack } from "./context.ts";

const app = new App();
flashstockStack(app);
app.synth();
