// The dashboard in headless Chromium against the real system: log in, see the fleet, open a
// device, watch its live values change, send a command and see its result. Screenshots are saved
// under $BV_ARTIFACTS_DIR (default test-artifacts/).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Prepared, prepareSystem, ROOT, type Service, startCloud, startEdge, startSim } from "../../scripts/system.mjs";
import { axeProblems, CHROMIUM, hasChromium, missingService, tempDir } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const ARTIFACTS = process.env.BV_ARTIFACTS_DIR ?? join(ROOT, "test-artifacts");

describe.skipIf(skip !== undefined)("dashboard in Chromium", () => {
  let prepared: Prepared;
  let cloud: Service;
  let edge: Service;
  let sim: Service;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    prepared = prepareSystem({
      dir: tempDir("ui"),
      scenarioOverrides: {
        fleets: [
          { type: "env-sensor", count: 3, id_prefix: "env-", interval_ms: 500 },
          { type: "valve-actuator", count: 1, id_prefix: "valve-", interval_ms: 500 },
        ],
      },
      extraUsers: [{ username: "victor", role: "viewer", password: "viewer-pass-1" }],
    });
    cloud = startCloud(prepared);
    const cp = await cloud.ready;
    base = `http://127.0.0.1:${cp.http}`;
    edge = startEdge(prepared, cp.grpc as number);
    sim = startSim(prepared, (await edge.ready).mqtt as number, { args: ["--quiet"] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    await edge?.stop();
    await cloud?.stop();
  });

  async function login(username: string, password: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const p = await context.newPage();
    await p.goto(`${base}/#/login`);
    await p.getByTestId("login-username").fill(username);
    await p.getByTestId("login-password").fill(password);
    await p.getByTestId("login-submit").click();
    return p;
  }

  it("refuses a wrong password with a visible error", async () => {
    const p = await login("admin", "wrong-password");
    await expect.poll(() => p.getByTestId("login-error").isVisible(), { timeout: 10_000 }).toBe(true);
    await p.context().close();
  });

  it("logs in and shows the fleet", async () => {
    page = await login("admin", prepared.secrets.adminPassword);
    await expect.poll(() => page.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("admin");
    await expect.poll(() => page.getByTestId("device-row").count(), { timeout: 20_000 }).toBe(prepared.devices.length);
    await expect.poll(() => page.getByTestId("edge-row").count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "fleet.png"), fullPage: true });
  });

  it("opens a device and watches its live values change", { timeout: 60_000 }, async () => {
    await page.locator('[data-testid="device-row"][data-device-id="env-0001"]').click();
    await expect.poll(() => page.getByTestId("device-title").textContent(), { timeout: 10_000 }).toContain("0001");
    const value = page.getByTestId("metric-temperature").getByTestId("metric-value");
    await expect.poll(() => value.textContent(), { timeout: 15_000 }).toMatch(/\d/);
    const first = await value.textContent();
    await expect.poll(() => value.textContent(), { timeout: 15_000 }).not.toBe(first);
    await expect.poll(() => page.getByTestId("live-chart").locator("canvas").count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, "device.png"), fullPage: true });
  });

  it("sends a command and shows its result", async () => {
    await page.goto(`${base}/#/devices/valve-0001`);
    await page.getByTestId("command-set_position").click();
    await page.getByTestId("param-position").fill("35");
    await page.getByTestId("command-send").click();
    const item = page.getByTestId("command-list").getByTestId("command-item").first();
    await expect.poll(() => item.getAttribute("data-status"), { timeout: 20_000 }).toBe("succeeded");
    await page.screenshot({ path: join(ARTIFACTS, "command.png"), fullPage: true });
  });

  it("shows the edge's link state and outbox", async () => {
    await page.goto(`${base}/#/edges/edge-1`);
    await expect.poll(() => page.getByTestId("edge-link-state").textContent(), { timeout: 10_000 }).toMatch(/online|connected/i);
    await expect.poll(() => page.getByTestId("edge-outbox-depth").textContent(), { timeout: 15_000 }).toMatch(/\d/);
    // The page gets its devices' readings, not a summary per reading: "last seen" stays fresh from them
    // (the devices publish every 500 ms; without the readings, the list the page loaded reads "4 s ago" by now).
    await page.waitForTimeout(4000);
    const lastSeen = () =>
      page.getByTestId("edge-device-row").evaluateAll((rows) => rows.map((row) => row.lastElementChild?.textContent ?? ""));
    await expect.poll(lastSeen, { timeout: 10_000 }).toEqual(prepared.devices.map(() => expect.stringMatching(/^(just now|[0-2] s ago)$/)));
    await page.screenshot({ path: join(ARTIFACTS, "edge.png"), fullPage: true });
  });

  it("fits every page on a phone (375 px) with no serious or critical axe-core violation", { timeout: 90_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const phone = await context.newPage();
    const problems: Record<string, string[]> = {};
    const check = async (name: string) => {
      // Let live updates land first: axe checks what the operator sees.
      await phone.waitForTimeout(500);
      const found = await axeProblems(phone);
      const wide = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (wide > 1) found.push(`scrolls ${wide} px sideways`);
      if (found.length > 0) problems[name] = found;
    };
    await phone.goto(`${base}/#/login`);
    await phone.getByTestId("login-username").waitFor();
    await check("login");
    await phone.getByTestId("login-username").fill("admin");
    await phone.getByTestId("login-password").fill(prepared.secrets.adminPassword);
    await phone.getByTestId("login-submit").click();
    await phone.getByTestId("current-user").waitFor();
    await expect.poll(() => phone.getByTestId("device-row").count(), { timeout: 20_000 }).toBe(prepared.devices.length);
    await check("fleet");
    await phone.goto(`${base}/#/devices/env-0001`);
    await expect
      .poll(() => phone.getByTestId("metric-temperature").getByTestId("metric-value").textContent(), { timeout: 15_000 })
      .toMatch(/\d/);
    await check("device");
    await phone.goto(`${base}/#/devices/valve-0001`);
    await expect.poll(() => phone.getByTestId("command-list").count(), { timeout: 15_000 }).toBe(1);
    await check("device with commands");
    await phone.goto(`${base}/#/edges/edge-1`);
    await expect.poll(() => phone.getByTestId("edge-link-state").textContent(), { timeout: 10_000 }).toMatch(/online|connected/i);
    await check("edge");
    await phone.goto(`${base}/#/alerts`);
    await phone.waitForLoadState("networkidle");
    await check("alerts");
    await phone.goto(`${base}/#/account`);
    await phone.waitForLoadState("networkidle");
    await check("account");
    await phone.goto(`${base}/#/users`);
    await phone.getByTestId("users").waitFor();
    await check("users");
    await phone.screenshot({ path: join(ARTIFACTS, "account-375.png"), fullPage: true });
    await context.close();
    expect(problems).toEqual({});
  });

  it("gives a viewer no usable command controls", { timeout: 60_000 }, async () => {
    const p = await login("victor", "viewer-pass-1");
    await expect.poll(() => p.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain("victor");
    await p.goto(`${base}/#/devices/valve-0001`);
    await expect.poll(() => p.getByTestId("device-title").textContent(), { timeout: 10_000 }).toContain("0001");
    // Viewers see what a device can do, but every command button is disabled.
    const buttons = p.locator('[data-testid^="command-"]').and(p.locator("button"));
    await expect.poll(() => buttons.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    for (const b of await buttons.all()) expect(await b.isDisabled()).toBe(true);
    await p.context().close();
  });
});
