/**
 * Chat in headless Chromium at phone width, two users in two browser contexts against a real
 * cloud (built dashboard): they chat; XSS attempts are shown as text and never run; an alert
 * fires from a reading over real gRPC and the bot posts it; the operator types /ack and the
 * alerts page shows it acknowledged; the viewer's /cmd is refused privately. axe-core finds no
 * serious or critical violation on the chat page.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, PASSWORDS, reading, startTestCloud, type TestCloud } from "./test-support.js";

const CHROMIUM = process.env.BV_CHROMIUM ?? "/usr/bin/chromium";
const DASHBOARD = fileURLToPath(new URL("../dist/dashboard/", import.meta.url));
const ready = existsSync(CHROMIUM) && existsSync(`${DASHBOARD}index.html`);
const why = existsSync(CHROMIUM) ? "the dashboard is not built (npm run build)" : `no Chromium at ${CHROMIUM}`;
// CI runs with every service required: a missing browser or build fails instead of skipping.
if (!ready && process.env.BV_REQUIRE_SERVICES === "1") throw new Error(`chat browser test cannot run: ${why}`);
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let t: TestCloud;
let edge: EdgeLink;
let browser: Browser;
const ROOM = "site:site-1";

beforeAll(async () => {
  if (!ready) return;
  t = await startTestCloud({}, { dashboardDir: DASHBOARD });
  edge = new EdgeLink(t.grpcAddress);
  edge.hello("edge-1", undefined, [
    { deviceId: "env-1", deviceType: "env-sensor" },
    { deviceId: "valve-1", deviceType: "valve-actuator" },
  ]);
  await edge.next("welcome");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  edge?.close();
  await t?.close();
});

async function open(user: "alice" | "victor"): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${t.url}/#/login?next=${encodeURIComponent(`/chat/${ROOM}`)}`);
  await page.getByTestId("login-username").fill(user);
  await page.getByTestId("login-password").fill(PASSWORDS[user]);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("chat-input").waitFor({ timeout: 10_000 });
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId("chat-input").fill(text);
  await page.getByTestId("chat-send").click();
  await expect.poll(() => page.getByTestId("chat-input").inputValue(), { timeout: 5000 }).toBe("");
}

const messagesText = async (page: Page) => (await page.getByTestId("chat-messages").textContent()) ?? "";

describe.skipIf(!ready)(`chat in Chromium at 375 px${ready ? "" : ` (skipped: ${why})`}`, () => {
  it("two users chat, XSS stays text, the bot posts an alert, /ack acknowledges it, a viewer's /cmd is refused", async () => {
    const alice = await open("alice");
    const victor = await open("victor");

    await say(alice, "hello @victor, look at #valve-1 and order:42");
    await expect.poll(() => messagesText(victor), { timeout: 5000 }).toContain("hello @victor");
    // References are links; the device link goes to the device page.
    expect(await victor.locator('[data-testid="chat-messages"] a', { hasText: "#valve-1" }).getAttribute("href")).toBe("#/devices/valve-1");

    const attack = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`;
    await say(alice, attack);
    await expect.poll(() => messagesText(victor), { timeout: 5000 }).toContain("<script>window.__xss = 1</script>");
    expect(await messagesText(victor)).toContain('onerror="window.__xss = 2"');
    for (const p of [alice, victor]) {
      expect(await p.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(await p.locator('[data-testid="chat-messages"] img, [data-testid="chat-messages"] script').count()).toBe(0);
    }

    // An alert fires from a reading; the bot posts it into the site room.
    const admin = await t.login("admin");
    const rule = await t.api("/api/alert-rules", admin, {
      method: "POST",
      body: JSON.stringify({
        name: "Hot hall",
        kind: "metric_threshold",
        severity: "critical",
        params: { metric: "temperature", op: "above", threshold: 40 },
      }),
    });
    expect(rule.status).toBe(201);
    edge.batch(1, [reading(1, "env-1", { temperature: 60 }, { edgeTimeMs: Date.now() })]);
    await edge.next("ack");
    await expect.poll(() => messagesText(alice), { timeout: 10_000 }).toContain("CRITICAL Hot hall on #env-1");
    const short = /\/ack ([0-9a-f]{8})/.exec(await messagesText(alice))?.[1];
    expect(short).toBeDefined();

    // Slash-command completion offers /ack.
    await alice.getByTestId("chat-input").fill("/a");
    await expect.poll(() => alice.getByTestId("chat-suggest").textContent()).toContain("/ack ALERT");
    await say(alice, `/ack ${short}`);
    await expect.poll(() => messagesText(victor), { timeout: 5000 }).toContain("acknowledged by @alice");

    // The viewer's /cmd: refused privately, nothing sent to the edge.
    await say(victor, "/cmd valve-1 open");
    await expect.poll(() => victor.getByTestId("chat-notices").textContent(), { timeout: 5000 }).toContain("operator role");
    expect(await alice.getByTestId("chat-notices").textContent()).not.toContain("operator role");
    expect(edge.inbox.filter((m) => m.kind?.$case === "command")).toHaveLength(0);

    // axe-core on the chat page at phone width.
    await alice.addScriptTag({ content: AXE });
    const violations = await alice.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } })
        .axe;
      const result = await axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
    if (process.env.BV_ARTIFACTS_DIR) await alice.screenshot({ path: `${process.env.BV_ARTIFACTS_DIR}/chat-375.png`, fullPage: true });
    // Nothing wider than the phone.
    expect(await alice.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);

    // A direct room with victor, who is online (presence dot).
    await alice.getByTestId("chat-dm-user").fill("victor");
    await alice.getByTestId("chat-dm-user").press("Enter");
    await expect.poll(() => alice.url(), { timeout: 5000 }).toContain("dm%3Aalice%3Avictor");
    await expect.poll(() => alice.locator('a[data-room="dm:alice:victor"] .dot').getAttribute("title"), { timeout: 5000 }).toBe("online");

    // The alerts page shows it acknowledged.
    await alice.goto(`${t.url}/#/alerts`);
    await expect.poll(() => alice.getByTestId("alert-state").first().textContent(), { timeout: 10_000 }).toBe("acknowledged");

    // The edge page has the site's room as a side panel.
    await alice.goto(`${t.url}/#/edges/edge-1`);
    await expect
      .poll(() => alice.getByTestId("chat-panel-messages").textContent(), { timeout: 10_000 })
      .toContain("acknowledged by @alice");
  }, 90_000);
});
