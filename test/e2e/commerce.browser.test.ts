/**
 * The shop in Chromium at phone width (375 px), against a real cloud, the payment and carrier
 * simulators as programs (`bv-sim payments`, `bv-sim carrier`) and a real edge link: an operator
 * buys 3 environmental sensors and sees the order confirmed with its saga timeline, then labelled
 * with the carrier's tracking number, and writes in the order's chat room, where the bot posted
 * the confirmation; a smart shelf's count moves live on the
 * inventory page and turns low; a viewer browses but cannot order. Every page passes axe-core
 * with no serious or critical violation.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, PASSWORDS, reading, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { ROOT } from "../../scripts/system.mjs";
import { CHROMIUM, hasChromium, missingService } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Serious and critical axe-core violations on the page as it is now. */
async function axeProblems(page: Page): Promise<string[]> {
  // Through the DevTools protocol: the dashboard's CSP (rightly) refuses an inline <script> tag.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await (
      window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }
    ).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes)`);
}

/** Starts `bv-sim payments|carrier --port 0` and resolves to its URL. */
function startSimulator(what: "payments" | "carrier"): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, "firmware-sim/bin/bv-sim.js"), what, "--port", "0", "--latency", "5"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m?.[1]) resolve({ url: m[1], child });
    });
    child.once("exit", (code) => reject(new Error(`bv-sim ${what} exited with ${code}`)));
  });
}

describe.skipIf(skip !== undefined)("the shop in Chromium", () => {
  let payments: { url: string; child: ChildProcess };
  let carrier: { url: string; child: ChildProcess };
  let t: TestCloud;
  let browser: Browser;
  let edge: EdgeLink;
  let seq = 0;

  async function login(username: keyof typeof PASSWORDS): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const p = await context.newPage();
    await p.goto(`${t.url}/#/login`);
    await p.getByTestId("login-username").fill(username);
    await p.getByTestId("login-password").fill(PASSWORDS[username]);
    await p.getByTestId("login-submit").click();
    await p.getByTestId("current-user").waitFor();
    return p;
  }
  async function shelfCount(n: number): Promise<void> {
    seq++;
    edge.batch(seq, [reading(seq, "shelf-7", { item_count: n }, { deviceType: "smart-shelf", edgeTimeMs: Date.now() })]);
    await edge.next("ack");
  }
  const noHorizontalScroll = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

  beforeAll(async () => {
    payments = await startSimulator("payments");
    carrier = await startSimulator("carrier");
    t = await startTestCloud(
      { commerce: { payments_url: payments.url, carrier_url: carrier.url } },
      { dashboardDir: join(ROOT, "cloud/dist/dashboard") },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    edge = new EdgeLink(t.grpcAddress);
    edge.hello("edge-1", undefined, [{ deviceId: "shelf-7", deviceType: "smart-shelf" }]);
    await edge.next("welcome");
  });
  afterAll(async () => {
    edge?.close();
    await browser?.close();
    await t?.close();
    payments?.child.kill("SIGTERM");
    carrier?.child.kill("SIGTERM");
  });

  it("an operator buys 3 environmental sensors and sees the order confirmed, then labelled, with its timeline", async () => {
    const page = await login("alice");
    await page.goto(`${t.url}/#/shop`);
    const row = page.locator('[data-testid="product-row"][data-sku="DEV-ENV-SENSOR"]');
    await row.getByRole("spinbutton").fill("3");
    await row.getByTestId("add-to-cart").click();
    await expect.poll(() => page.getByTestId("cart").textContent()).toContain("3 × Environmental sensor");
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.getByTestId("place-order").click();
    await page.waitForURL(/#\/orders\/ord_/);
    await expect.poll(() => page.getByTestId("order-status").textContent(), { timeout: 10_000 }).toBe("confirmed");
    const steps = await page
      .locator('[data-testid="timeline-entry"]')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.type));
    // Fleet's answer (DevicesProvisioned) and the shipping label land on the timeline whenever they arrive.
    expect(steps.filter((s) => s !== "DevicesProvisioned" && !s?.startsWith("Label"))).toEqual([
      "OrderPlaced",
      "StockReserved",
      "PaymentAuthorized",
      "DevicesRequested",
      "StockCommitted",
      "PaymentCaptured",
      "OrderConfirmed",
    ]);
    // The carrier's label: the tracking number the carrier simulator issued for this order.
    const orderId = decodeURIComponent(page.url().split("/orders/")[1] ?? "");
    await expect.poll(() => page.getByTestId("order-tracking").textContent(), { timeout: 10_000 }).toMatch(/^BV[0-9A-F]{12}$/);
    const { shipments } = (await (await fetch(new URL("/shipments", carrier.url))).json()) as {
      shipments: { orderId: string; trackingNumber: string }[];
    };
    expect(await page.getByTestId("order-tracking").textContent()).toBe(shipments.find((x) => x.orderId === orderId)?.trackingNumber);
    await expect.poll(() => page.locator('[data-testid="timeline-entry"][data-type="Labelled"]').count()).toBe(1);
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);

    // The order's room on the order page: the bot's confirmation is there, and the buyer writes in it.
    const room = page.getByTestId("chat-panel-messages");
    await expect.poll(() => room.textContent(), { timeout: 10_000 }).toContain(`order:${orderId} confirmed, total`);
    await page.getByTestId("chat-panel-input").fill("When will the sensors ship?");
    await page.getByTestId("chat-panel-input").press("Enter");
    await expect.poll(() => room.textContent()).toContain("When will the sensors ship?");
    await expect.poll(() => page.getByTestId("chat-panel-input").inputValue()).toBe("");
    // Stored in the order's room, by the buyer (what another member's client would sync).
    const history = (await (
      await t.api(`/api/chat/rooms/${encodeURIComponent(`order:${orderId}`)}/messages`, await t.login("admin"))
    ).json()) as {
      messages: { author: string; text: string }[];
    };
    expect(history.messages.filter((m) => m.author === "alice").map((m) => m.text)).toEqual(["When will the sensors ship?"]);
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);

    // Fleet provisioned the 3 sensors: they show on the fleet page, awaiting their first connection.
    await page.getByTestId("nav-fleet").click();
    await expect
      .poll(() => page.locator(`[data-testid="awaiting-device"][data-order-id="${orderId}"]`).count(), { timeout: 10_000 })
      .toBe(3);

    await page.getByTestId("nav-orders").click();
    await expect.poll(() => page.locator('[data-testid="order-row"][data-status="confirmed"]').count()).toBe(1);
    expect(await axeProblems(page)).toEqual([]);
    await page.context().close();
  });

  it("a shelf's stock moves live on the inventory page and turns low", async () => {
    const admin = await t.login("admin");
    await shelfCount(12);
    const bind = await t.api("/api/commerce/shelves/shelf-7", admin, {
      method: "PUT",
      body: JSON.stringify({ siteId: "site-1", sku: "SHELF-COFFEE-1KG", lowThreshold: 4, highThreshold: 10 }),
    });
    expect(bind.status).toBe(200);
    const page = await login("victor");
    await page.goto(`${t.url}/#/inventory`);
    const row = page.locator('[data-testid="shelf-row"][data-device-id="shelf-7"]');
    await expect.poll(() => row.getByTestId("shelf-count").textContent()).toBe("12");
    await shelfCount(9);
    await expect.poll(() => row.getByTestId("shelf-count").textContent()).toBe("9");
    await shelfCount(3);
    await expect.poll(() => row.getAttribute("data-low")).toBe("true");
    await expect.poll(() => page.getByTestId("low-shelves").getAttribute("data-value")).toBe("1");
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.context().close();
  });

  it("a viewer browses the shop but cannot order", async () => {
    const page = await login("victor");
    await page.goto(`${t.url}/#/shop`);
    await page.locator('[data-testid="product-row"][data-sku="CONS-FILTER"]').getByTestId("add-to-cart").click();
    await expect.poll(() => page.getByTestId("viewer-note").isVisible()).toBe(true);
    expect(await page.getByTestId("place-order").count()).toBe(0);
    expect(await axeProblems(page)).toEqual([]);
    await page.context().close();
  });
});
