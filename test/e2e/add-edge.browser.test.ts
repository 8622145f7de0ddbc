/**
 * The dashboard's "Add edge" page at phone width in headless Chromium: an admin creates a claim
 * code, reads it and the install command off the page, a real `bv-edge claim` process uses it and
 * the row turns "claimed", then "online" once the agent runs. axe-core finds no serious or
 * critical violation. Screenshots go to $BV_ARTIFACTS_DIR (default test-artifacts/).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { hashSecret } from "@bitvelocity/common";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { PASSWORDS, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { freePorts } from "../pi/support.js";
import { CHROMIUM, hasChromium, missingService, tempDir } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const ROOT = join(import.meta.dirname, "../..");
const ARTIFACTS = process.env.BV_ARTIFACTS_DIR ?? join(ROOT, "test-artifacts");
const BIN = join(ROOT, "edge/bin/bv-edge.js");
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE); // through the DevTools protocol: the CSP refuses inline script tags
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } })
      .axe;
    const { violations } = await axe.run();
    return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.nodes.length})`);
  });
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: "ignore" });
  return { child, done: new Promise((r) => child.on("close", r)) };
}

describe.skipIf(skip !== undefined)("Add edge page", () => {
  let cloud: TestCloud;
  let browser: Browser;
  let agent: ChildProcess | undefined;
  const dir = tempDir("add-edge");

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    cloud = await startTestCloud({}, { dashboardDir: join(ROOT, "cloud/dist/dashboard") });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  }, 60_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    await browser?.close();
    await cloud?.close();
  });

  it("issues a claim code at 375 px, shows it with the install command, and follows the edge to online", { timeout: 180_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${cloud.url}/#/login`);
    await page.getByTestId("login-username").fill("admin");
    await page.getByTestId("login-password").fill(PASSWORDS.admin);
    await page.getByTestId("login-submit").click();
    await expect.poll(() => page.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("admin");
    await page.getByTestId("nav-add-edge").click();
    await page.getByTestId("claim-form").waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    // A bad edge id: a clear error, nothing issued.
    await page.getByTestId("claim-edge-id").fill("bad id!");
    await page.getByTestId("claim-create").click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/edgeId: expected 1-64 letters/);

    await page.getByTestId("claim-site").selectOption("site-2");
    await page.getByTestId("claim-edge-id").fill("dock-pi");
    await page.getByTestId("claim-name").fill("Dock Pi");
    await page.getByTestId("claim-create").click();
    const code = (await page.getByTestId("claim-code").textContent()) ?? "";
    expect(code).toMatch(/^[2-9A-Z]{5}-[2-9A-Z]{5}$/);
    expect(await page.getByTestId("claim-command").textContent()).toBe(
      `curl -fsSL ${cloud.url}/edge/install.sh | sudo sh -s -- --claim ${code}`,
    );
    expect(await page.getByTestId("claim-fingerprint").textContent()).toMatch(/plain HTTP/);
    const row = page.locator('[data-testid="claim-row"][data-edge-id="dock-pi"]');
    expect(await row.getAttribute("data-state")).toBe("pending");
    // Nothing is wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "add-edge-375.png"), fullPage: true });

    const credentials = join(dir, "credentials.json");
    expect(await run(["claim", "--cloud", cloud.url, "--code", code, "--credentials", credentials]).done).toBe(0);
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 10_000 }).toBe("claimed");

    const [mqttPort, httpPort] = await freePorts(2);
    const config = join(dir, "edge.yaml");
    writeFileSync(
      config,
      stringify({
        version: 1,
        edge_id: "unclaimed",
        data_dir: join(dir, "data"),
        mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: null },
        http: { host: "127.0.0.1", port: httpPort },
        devices: [{ id: "env-0100", type: "env-sensor", secret_hash: hashSecret("add-edge-secret") }],
      }),
    );
    agent = run(["--config", config], { BV_EDGE_CREDENTIALS: credentials, BV_LOG_LEVEL: "warn" }).child;
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 30_000 }).toBe("online");
    await page.screenshot({ path: join(ARTIFACTS, "add-edge-online-375.png"), fullPage: true });
  });
});
