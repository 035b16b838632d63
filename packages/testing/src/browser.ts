/**
 * A real browser for the tests: Chromium shipped inside the @sparticuz/chromium npm package (no
 * download, no system package), driven by playwright-core.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, inject } from "vitest";
import { launchChromium } from "./chromium.ts";

/** A headless Chromium for the calling test file, launched before its tests and closed after. */
export function useBrowser(): { browser: Browser } {
  const handle = {} as { browser: Browser };
  beforeAll(async () => {
    handle.browser = await launchChromium(inject("chromiumPath"));
  });
  afterAll(async () => {
    await handle.browser?.close();
  });
  return handle;
}
