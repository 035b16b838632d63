/**
 * Chromium shipped inside the @sparticuz/chromium npm package (no download, no system package),
 * driven by playwright-core: for the browser tests and `npm run screenshots` alike, so it imports
 * nothing from vitest.
 */
import { mkdir } from "node:fs/promises";
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as playwright } from "playwright-core";
/**
 * Unpacks the browser into `dir` and returns its executable. The package unpacks into the
 * temporary directory it reads from TMPDIR: one directory per test run, so that two runs, or an
 * older version left in /tmp, never share a half-written binary. Called once, by the global setup.
 */
export async function unpackChromium(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await chromium.executablePath();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

/**
 * Our own flags, not the package's: those are for Lambda and include --disable-web-security, which
 * would turn off the very CORS checks a browser test is for. As root, Chromium needs --no-sandbox;
 * the networking flags keep it from calling Google's services, which this machine cannot reach.
 */
const flags = [
  "--no-sandbox",
  "--no-zygote",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A headless Chromium from the unpacked executable, with the flags above. */
export const launchChromium = (executablePath: string): Promise<Browser> =>
  playwright.launch({ executablePath, headless: true, args: flags });
