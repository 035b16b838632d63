/**
 * `node --import tsx infra/write-web-config.ts <build directory>`: writes the web UI's
 * `config.json` into a build, naming the API in the `API_URL` environment variable (and Stripe's
 * publishable key, when `STRIPE_PUBLISHABLE_KEY` holds one). SST's
 * StaticSite uploads only what its build command leaves in the build, so that command runs this
 * after Vite (`sstPlan().web`); the CDK stack writes the same file with `Source.jsonData`.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { webBuildApiUrl } from "./sst-plan.ts";
import { web, webConfig } from "./topology.ts";

const dir = resolve(process.argv[2] ?? "");
const apiUrl = process.env[webBuildApiUrl];

// A UI told to call "undefined" fails on every page; a deploy that stops here fails once, and says why.
if (!apiUrl || !/^https?:\/\/\S+$/.test(apiUrl)) {
  console.error(`${webBuildApiUrl} must be the API's URL (got "${apiUrl ?? ""}")`);
  process.exit(1);
}
if (!process.argv[2] || !existsSync(dir) || !statSync(dir).isDirectory()) {
  console.error(`No web UI build at "${dir}" to write ${web.configFile} into`);
  process.exit(1);
}
const publishableKey = process.env[web.publishableKeyEnv] || undefined;
writeFileSync(join(dir, web.configFile), JSON.stringify(webConfig(apiUrl, publishableKey)));
console.log(`${web.configFile}: ${apiUrl}`);
