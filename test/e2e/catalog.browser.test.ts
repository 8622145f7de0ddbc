/**
 * The catalog editor in Chromium at phone width (375 px), against a real cloud and the payment
 * simulator as a program (`bv-sim payments`): an admin sets a price by typing "12.50" and the shop
 * shows 12.50 (1250 minor units on the wire); a malformed amount is refused in the form; the admin
 * adjusts stock by a delta with a reason, and a removal below zero is refused with the server's
 * reason; a viewer has no link to the page, is refused on it, and the server refuses the edit.
 * Every page passes axe-core with no serious or critical violation.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { AuditEntry, Product, StockLevel } from "@bitvelocity/api";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, PASSWORDS, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { ROOT } from "../../scripts/system.mjs";
import { axeProblems, CHROMIUM, hasChromium, missingService } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const SKU = "CONS-FILTER";

/** Starts `bv-sim payments --port 0` and resolves to its URL. */
function startPayments(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, "firmware-sim/bin/bv-sim.js"), "payments", "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m?.[1]) resolve({ url: m[1], child });
    });
    child.once("exit", (code) => reject(new Error(`bv-sim payments exited with ${code}`)));
  });
}

describe.skipIf(skip !== undefined)("the catalog editor in Chromium", () => {
  let payments: { url: string; child: ChildProcess };
  let t: TestCloud;
  let browser: Browser;
  let admin: string;

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
  const noHorizontalScroll = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  const product = async (sku: string) =>
    (await json<{ products: Product[] }>(await t.api("/api/commerce/products?all=1", admin))).products.find((p) => p.sku === sku)!;
  const stock = async (sku: string) =>
    (await json<{ stock: StockLevel[] }>(await t.api("/api/commerce/stock", admin))).stock.find(
      (s) => s.sku === sku && s.location === "warehouse-1",
    )!;
  /** Opens the catalog page from the navigation and unfolds one product's card. */
  async function openCard(page: Page, sku: string) {
    await page.getByTestId("nav-catalog").click();
    const card = page.locator(`[data-testid="catalog-product"][data-sku="${sku}"]`);
    await card.locator("summary").click();
    return card;
  }

  beforeAll(async () => {
    payments = await startPayments();
    t = await startTestCloud({ commerce: { payments_url: payments.url } }, { dashboardDir: join(ROOT, "cloud/dist/dashboard") });
    admin = await t.login("admin");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    payments?.child.kill("SIGTERM");
  });

  it("an admin types 12.50 as a price and the shop shows 12.50", async () => {
    const before = await product(SKU);
    expect(before.priceMinor).not.toBe(1250);
    const page = await login("admin");
    const card = await openCard(page, SKU);
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);

    // Malformed: refused beside the field, nothing sent.
    await card.getByTestId("product-price").fill("12.505");
    await card.getByTestId("product-save").click();
    await expect.poll(() => card.getByTestId("product-price-error").textContent()).toContain("at most 2 decimals");
    expect((await product(SKU)).priceMinor).toBe(before.priceMinor);

    await card.getByTestId("product-price").fill("12.50");
    await card.getByTestId("product-tax").fill("5.5");
    await card.getByTestId("product-save").click();
    await expect.poll(() => card.getByTestId("product-message").textContent()).toContain("Saved");
    await expect.poll(() => card.getByTestId("catalog-price").textContent()).toContain("12.50");
    expect(await product(SKU)).toMatchObject({ priceMinor: 1250, taxRateBp: 550 });
    // The saved card is redrawn open, with what the server answered.
    expect(await card.getByTestId("product-price").inputValue()).toBe("12.50");
    expect(await axeProblems(page)).toEqual([]);

    await page.getByTestId("nav-shop").click();
    const row = page.locator(`[data-testid="product-row"][data-sku="${SKU}"]`);
    await expect.poll(() => row.textContent()).toContain("12.50");
    expect(await row.textContent()).toContain("+5.5 % tax");
    await page.context().close();
  });

  it("an admin adjusts stock by a delta with a reason; a removal below zero is refused", async () => {
    const before = await stock(SKU);
    const page = await login("admin");
    const card = await openCard(page, SKU);
    await card.getByTestId("stock-location").selectOption("warehouse-1");
    await card.getByTestId("stock-delta").fill("-3");
    await card.getByTestId("stock-reason").fill("two broken in transit, one sample");
    await card.getByTestId("stock-adjust").click();
    await expect.poll(() => card.getByTestId("stock-message").textContent()).toContain(`${before.onHand - 3} on hand at warehouse-1`);
    expect(await card.locator('tr[data-location="warehouse-1"] [data-testid="stock-on-hand"]').textContent()).toBe(
      String(before.onHand - 3),
    );
    expect((await stock(SKU)).onHand).toBe(before.onHand - 3);
    const audit = await json<{ entries: AuditEntry[] }>(await t.api("/api/audit?action=stock.adjust&limit=5", admin));
    expect(audit.entries[0]).toMatchObject({ actor: "admin", detail: { delta: -3, reason: "two broken in transit, one sample" } });

    await card.getByTestId("stock-delta").fill("-100000");
    await card.getByTestId("stock-reason").fill("count");
    await card.getByTestId("stock-adjust").click();
    await expect.poll(() => card.getByTestId("stock-message").textContent()).toContain("STOCK_WOULD_GO_NEGATIVE");
    expect((await stock(SKU)).onHand).toBe(before.onHand - 3);

    await card.getByTestId("stock-set-value").fill("40");
    await card.getByTestId("stock-set").click();
    await expect.poll(() => card.getByTestId("stock-message").textContent()).toContain("40 on hand at warehouse-1");
    expect((await stock(SKU)).onHand).toBe(40);
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.context().close();
  });

  it("a viewer has no link to the catalog, is refused on it, and the server refuses the edit", async () => {
    const page = await login("victor");
    await page.getByTestId("nav-shop").waitFor();
    expect(await page.getByTestId("nav-catalog").count()).toBe(0);
    await page.goto(`${t.url}/#/catalog`);
    await expect.poll(() => page.getByTestId("catalog-refused").textContent()).toContain("needs the admin role");
    expect(await page.locator('[data-testid="catalog-product"]').count()).toBe(0);
    expect(await axeProblems(page)).toEqual([]);
    expect(await noHorizontalScroll(page)).toBe(true);

    // The page is only a courtesy: the server is what refuses.
    const status = await page.evaluate(async (sku) => {
      const res = await fetch(`/api/commerce/stock/${sku}/warehouse-1/adjust`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ delta: 5, reason: "from the browser" }),
      });
      return res.status;
    }, SKU);
    expect(status).toBe(403);
    const refused = await json<{ entries: AuditEntry[] }>(await t.api("/api/audit?action=commerce.refused&limit=5", admin));
    expect(refused.entries[0]).toMatchObject({ actor: "victor", detail: { action: "stock.adjust" } });
    await page.context().close();
  });
});
