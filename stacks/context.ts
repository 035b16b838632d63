/**
 * The stage, sender and browser origins of a deployment, from CDK context (`-c stage=...
 * -c sender=... -c corsOrigins=https://shop.example.com,https://admin.example.com`).
 */
import type { App } from "aws-cdk-lib";
import { parseOrigins } from "../infra/topology.ts";
import { FlashstockStack } from "./flashstock-stack.ts";

export const DEFAULT_STAGE = "dev";

export function flashstockStack(app: App): FlashstockStack {
  const stage = String(app.node.tryGetContext("stage") ?? DEFAULT_STAGE);
  const sender = app.node.tryGetContext("sender");
  if (typeof sender !== "string" || sender === "") {
    throw new Error("No sender: pass -c sender=orders@your-domain (cdk.json has a placeholder)");
  }
  const corsOrigins = parseOrigins(String(app.node.tryGetContext("corsOrigins") ?? ""));
  const stripePublishableKey = app.node.tryGetContext("stripePublishableKey");
  return new FlashstockStack(app, `Flashstock-${stage}`, {
    stage,
    sender,
    corsOrigins,
    ...(typeof stripePublishableKey === "string" && stripePublishableKey
      ? { stripePublishableKey }
      : {}),
  });
}
