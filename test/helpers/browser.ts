// Headless Chromium from the system (Debian: `apt-get install chromium`), driven by playwright-core, for the tests of
// the search page. Where there is none the tests say SKIPPED and why; in CI (CI=true) a missing browser is a failure.
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { announceSkip } from "./environment.ts";

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export const CHROMIUM_PATH: string | null = CANDIDATES.find((path): path is string => Boolean(path) && existsSync(path!)) ?? null;

/** CI installs Chromium (.ci/run): there its absence must fail the run rather than hide the page's tests. */
export const CHROMIUM_REQUIRED = process.env.CI === "true";

export const MISSING_CHROMIUM = "no Chromium at /usr/bin/chromium (install it: apt-get install -y chromium; or set CHROMIUM_PATH)";

export function haveChromium(what: string): boolean {
  if (!CHROMIUM_PATH && !CHROMIUM_REQUIRED) announceSkip(what, MISSING_CHROMIUM);
  return CHROMIUM_PATH !== null;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH!,
    // Chromium refuses to sandbox itself as root (CI containers); the pages it opens are our own, on 127.0.0.1.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}
