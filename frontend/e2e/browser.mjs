// Debian's Chromium driven by playwright-core (never a downloaded browser build), plus the
// guards every page gets: no request may leave 127.0.0.1, no console errors.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "dashboard-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1000 },
    locale: "en-GB",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems = [];
  const requests = [];
  const watch = (page) => {
    page.on("request", (r) => {
      requests.push(r);
      const url = new URL(r.url());
      if (!["data:", "blob:"].includes(url.protocol) && url.hostname !== "127.0.0.1") {
        problems.push(`request left 127.0.0.1: ${r.url()}`);
      }
    });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  };
  context.on("page", watch);
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, problems, requests, watch, close };
}
