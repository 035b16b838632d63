/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy -c stage=<name> -c sender=<address>` (cdk.json
 * runs this file). One stack per stage, environment-agnostic: the account and region are those of
 * the deploying credentials.
 */
import { App } from "aws-cdk-lib";
import { ensureWebBuild } from "../packages/local/src/web.ts";
import { flashstockStack } from "./context.ts";

// The stack uploads the web UI's build: built here unless it is newer than its sources, so that a
// deploy never ships an older UI than the checkout (SST's StaticSite builds it likewise).
await ensureWebBuild();
const app = new App();
flashstockStack(app);
app.synth();
