/**
 * The web UI under `npm start`: packages/web built with Vite when its build is missing or older
 * than its sources, then served as static files with the single-page fallback CloudFront gives it,
 * and `/config.json` naming this runtime's API, so the one build serves every stage.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { readdir, rename, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { web, webConfig } from "../../../infra/topology.ts";

const webRoot = fileURLToPath(new URL("../../web/", import.meta.url));
const clientRoot = fileURLToPath(new URL("../../client/src/", import.meta.url));
export const webDist = join(webRoot, "dist");

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

async function newestChange(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((e) => newestChange(join(path, e))));
  return Math.max(info.mtimeMs, ...times);
}

/** Builds the UI unless dist/ is newer than every source it is built from. Returns whether it built. */
export async function ensureWebBuild(): Promise<boolean> {
  const built = join(webDist, "index.html");
  if (existsSync(built)) {
    const sources = await Promise.all(
      ["src", "index.html", "vite.config.ts", "package.json"]
        .map((p) => join(webRoot, p))
        .concat(clientRoot)
        .map(newestChange),
    );
    if (statSync(built).mtimeMs >= Math.max(...sources)) return false;
  }
  // Built aside and moved in whole: a server reading dist/, or a second build at the same time
  // (two test files, or npm start beside them), never sees half of one.
  const staging = join(webRoot, `.dist-build-${process.pid}-${Date.now()}`);
  const { build } = await import("vite");
  await build({
    root: webRoot,
    configFile: join(webRoot, "vite.config.ts"),
    logLevel: "warn",
    build: { outDir: staging, emptyOutDir: true },
  });
  const previous = `${staging}-previous`;
  await rename(webDist, previous).catch(() => undefined);
  await rename(staging, webDist).catch(() => undefined);
  await rm(staging, { recursive: true, force: true });
  await rm(previous, { recursive: true, force: true });
  return true;
}

export async function startWebServer(options: {
  port: number;
  host: string;
  apiUrl: string;
  /** Stripe's publishable key (`pk_...`): the storefront offers cards only when it has one. */
  stripePublishableKey?: string | undefined;
}): Promise<{ url: string; close: () => Promise<void> }> {
  const config = JSON.stringify(webConfig(options.apiUrl, options.stripePublishableKey));
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    res.setHeader("x-content-type-options", "nosniff");
    if (path === "/config.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(config);
      return;
    }
    // A file of the build, or index.html for any other path: the app's router takes it from there.
    const file = resolve(webDist, `.${normalize(path)}`);
    const isFile = file.startsWith(webDist) && existsSync(file) && statSync(file).isFile();
    const served = isFile ? file : join(webDist, "index.html");
    res.writeHead(200, {
      "content-type": contentTypes[extname(served)] ?? "application/octet-stream",
      "cache-control": served.includes(join(webDist, web.hashedAssets))
        ? web.cacheControl.hashed
        : web.cacheControl.entry,
    });
    createReadStream(served).pipe(res);
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(options.port, options.host, () => done());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
