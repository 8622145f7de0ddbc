/**
 * The edge page's Configuration section at phone width (375 px) in headless Chromium, against a
 * real bv-cloud and bv-edge: an admin saves a document the cloud refuses (every problem listed
 * inline), one only the edge can refuse (its devices file already has the device: the history
 * shows "rejected" with the edge's reason), and a good one the edge applies hot. Secrets show
 * masked. axe-core finds no serious or critical violation. Screenshots go to $BV_ARTIFACTS_DIR.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { hashSecret } from "@bitvelocity/common";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Prepared, prepareSystem, ROOT, type Service, startCloud, startEdge } from "../../scripts/system.mjs";
import { Api, axeProblems, CHROMIUM, hasChromium, missingService, tempDir, waitFor } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const ARTIFACTS = process.env.BV_ARTIFACTS_DIR ?? join(ROOT, "test-artifacts");

async function save(page: Page, yaml: string): Promise<void> {
  await page.getByLabel("Configuration (YAML)").fill(yaml);
  await page.getByTestId("config-save").click();
}

async function noOverflow(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

describe.skipIf(skip !== undefined)("edge page: Configuration", () => {
  let prepared: Prepared;
  let cloud: Service;
  let edge: Service;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    prepared = prepareSystem({
      dir: tempDir("e2e-config-page"),
      scenarioFile: join(ROOT, "firmware-sim/scenarios/demo.yaml"),
      scenarioOverrides: { fleets: [{ type: "env-sensor", count: 2, id_prefix: "env-", interval_ms: 1000 }] },
    });
    cloud = startCloud(prepared);
    const cp = await cloud.ready;
    base = `http://127.0.0.1:${cp.http}`;
    edge = startEdge(prepared, cp.grpc as number);
    await edge.ready;
    const api = new Api(base);
    await api.login("admin", prepared.secrets.adminPassword);
    await waitFor("the edge to connect", async () =>
      (await api.json<{ runningVersion: number | null }>("/api/edges/edge-1/config")).runningVersion === 0 ? true : undefined,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await edge?.stop();
    await cloud?.stop();
  });

  it("lists the cloud's and the edge's refusals, applies a good version, masks secrets, at 375 px", { timeout: 90_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${base}/#/login`);
    await page.getByTestId("login-username").fill("admin");
    await page.getByTestId("login-password").fill(prepared.secrets.adminPassword);
    await page.getByTestId("login-submit").click();
    await expect.poll(() => page.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("admin");
    await page.goto(`${base}/#/edges/edge-1`);
    await page.getByTestId("edge-config").waitFor();
    await expect.poll(() => page.getByTestId("config-summary").textContent()).toContain("the edge runs its file only");
    expect(await axeProblems(page)).toEqual([]);

    // 1. Refused by the cloud: every problem, inline, nothing saved.
    await save(page, stringify({ mqtt: { limits: { max_connections: 0 } }, devices: [{ id: "x", type: "toaster" }] }));
    await page.getByTestId("config-problems").waitFor();
    const problems = await page.getByTestId("config-problem").allTextContents();
    expect(problems.join("\n")).toMatch(/mqtt\.limits\.max_connections/);
    expect(problems.join("\n")).toMatch(/devices\.0\.type: unknown device type "toaster"/);
    expect(problems.join("\n")).toMatch(/devices\.0\.secret_hash/);
    expect(await page.getByTestId("config-version-row").count()).toBe(0);
    expect(await axeProblems(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "edge-config-problems-375.png"), fullPage: true });

    // 2. Refused by the edge: env-0001 is already in its devices file.
    const clash = prepared.devices[0];
    if (!clash) throw new Error("no device");
    await save(page, stringify({ devices: [{ id: clash.deviceId, type: "env-sensor", secret_hash: hashSecret(clash.secret) }] }));
    await page.getByTestId("config-saved").waitFor();
    const row1 = page.locator('[data-testid="config-version-row"][data-version="1"]');
    await expect.poll(() => row1.getAttribute("data-state"), { timeout: 20_000 }).toBe("rejected");
    expect(await row1.textContent()).toContain(`device id ${clash.deviceId} is in both devices and`);

    // 3. A good version: applied hot; its secret comes back masked.
    await save(page, stringify({ devices: [{ id: "cfg-dev-9", type: "env-sensor", secret_hash: hashSecret("cfg-secret-9") }] }));
    const row2 = page.locator('[data-testid="config-version-row"][data-version="2"]');
    await expect.poll(() => row2.getAttribute("data-state"), { timeout: 20_000 }).toBe("applied");
    expect(await row2.textContent()).toContain("applied hot");
    await expect.poll(() => page.getByTestId("config-summary").textContent()).toContain("the edge runs version 2");
    const editor = await page.getByLabel("Configuration (YAML)").inputValue();
    expect(editor).toContain('secret_hash: "********"');
    expect(editor).not.toContain("sha256$");
    expect(await noOverflow(page)).toBe(true);
    expect(await axeProblems(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "edge-config-history-375.png"), fullPage: true });
    await context.close();
  });
});
