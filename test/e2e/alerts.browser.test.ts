// Alerts, roles, tokens and history zoom in headless Chromium against the real system (cloud,
// edge and simulator processes): an admin writes a rule in the editor, sees the toast, an
// operator acknowledges and resolves, a viewer can only look. Screenshots go to
// $BV_ARTIFACTS_DIR (default test-artifacts/).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { edgeDevicesYaml } from "@bitvelocity/firmware-sim";
import mqtt from "mqtt";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Prepared, prepareSystem, ROOT, type Service, startCloud, startEdge, startSim } from "../../scripts/system.mjs";
import { TcpProxy } from "../faults/tcp-proxy.js";
import { CHROMIUM, hasChromium, missingService, tempDir } from "./support.js";

const skip = missingService(`Chromium at ${CHROMIUM}`, hasChromium());
const ARTIFACTS = process.env.BV_ARTIFACTS_DIR ?? join(ROOT, "test-artifacts");
const USERS = { olga: "operator-pass-1", victor: "viewer-pass-1" };
/** A device the simulator does not run: the test publishes a burst as it while the link is down. */
const BURST = { deviceId: "burst-1", deviceType: "env-sensor", name: "Burst sensor", secret: "burst-device-secret-1" };

describe.skipIf(skip !== undefined)("alerts and roles in Chromium", () => {
  let prepared: Prepared;
  let cloud: Service;
  let edge: Service;
  let sim: Service;
  let browser: Browser;
  let base: string;
  let admin: Page;
  let proxy: TcpProxy;
  let edgePorts: Record<string, number | undefined>;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    prepared = prepareSystem({
      dir: tempDir("ui-alerts"),
      scenarioOverrides: { fleets: [{ type: "env-sensor", count: 3, id_prefix: "env-", interval_ms: 500 }] },
      extraUsers: [
        { username: "olga", role: "operator", password: USERS.olga },
        { username: "victor", role: "viewer", password: USERS.victor },
      ],
      // A 1 MB outbox: a burst during an outage evicts the oldest readings and leaves a gap record.
      edgeOverrides: {
        outbox: { budget_mb: 1 },
        uplink: { url: "127.0.0.1:0", backoff_initial_ms: 100, backoff_max_ms: 500, status_interval_ms: 1000 },
      },
    });
    writeFileSync(prepared.files.devices, edgeDevicesYaml([...prepared.devices, BURST]));
    cloud = startCloud(prepared);
    const cp = await cloud.ready;
    base = `http://127.0.0.1:${cp.http}`;
    // The edge reaches the cloud through a proxy the test can cut.
    proxy = new TcpProxy({ host: "127.0.0.1", port: cp.grpc as number });
    edge = startEdge(prepared, await proxy.listen());
    edgePorts = await edge.ready;
    sim = startSim(prepared, edgePorts.mqtt as number, { args: ["--quiet"] });
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
    await proxy?.close();
  });

  async function login(username: string, password: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const p = await context.newPage();
    await p.goto(`${base}/#/login`);
    await p.getByTestId("login-username").fill(username);
    await p.getByTestId("login-password").fill(password);
    await p.getByTestId("login-submit").click();
    await expect.poll(() => p.getByTestId("current-user").textContent(), { timeout: 10_000 }).toContain(username);
    return p;
  }

  it("an admin writes a rule, sees the toast and the alarm on the fleet", { timeout: 60_000 }, async () => {
    admin = await login("admin", prepared.secrets.adminPassword);
    // The three simulated sensors and the burst device (known to the edge, silent for now).
    await expect.poll(() => admin.getByTestId("device-row").count(), { timeout: 20_000 }).toBe(4);
    await admin.getByTestId("nav-alerts").click();
    await admin.getByTestId("rule-new").click();
    // The server's problems show beside the fields.
    await admin.getByTestId("rule-save").click();
    await expect.poll(() => admin.getByTestId("rule-form").textContent()).toMatch(/expected|Too small|at least/i);
    await admin.getByTestId("rule-name").fill("Hall too warm");
    await admin.getByTestId("rule-severity").selectOption("critical");
    await admin.getByTestId("rule-param-device_type").selectOption("env-sensor");
    await admin.getByTestId("rule-param-metric").selectOption("temperature");
    await admin.getByTestId("rule-param-op").selectOption("above");
    await admin.getByTestId("rule-param-threshold").fill("-50");
    await admin.getByTestId("rule-param-hysteresis").fill("1");
    await admin.getByTestId("rule-save").click();
    await expect.poll(() => admin.getByTestId("rule-row").count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => admin.getByTestId("toast").count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await admin.getByTestId("toast").first().getAttribute("data-severity")).toBe("critical");
    await expect.poll(() => admin.getByTestId("alert-row").count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => admin.getByTestId("alert-badge").textContent()).toBe("3");
    await admin.screenshot({ path: join(ARTIFACTS, "alerts-fired.png"), fullPage: true });

    await admin.getByTestId("nav-fleet").click();
    await expect.poll(() => admin.locator('[data-testid="device-row"][data-alarming="true"]').count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => admin.locator('[data-testid="attention-item"][data-tag="alarm"]').count()).toBe(3);
    await expect.poll(() => admin.getByTestId("site-card").count()).toBe(1);
    await admin.getByTestId("fleet-filter-state").selectOption("alarming");
    await expect.poll(() => admin.getByTestId("device-row").count()).toBe(3);
    expect(await admin.locator('[data-testid="device-row"][data-device-id="burst-1"]').count()).toBe(0);
    await admin.screenshot({ path: join(ARTIFACTS, "fleet-attention.png"), fullPage: true });
  });

  it("a viewer sees alerts but cannot acknowledge, edit rules or command", { timeout: 30_000 }, async () => {
    const p = await login("victor", USERS.victor);
    await p.getByTestId("nav-alerts").click();
    await expect.poll(() => p.getByTestId("alert-row").count(), { timeout: 10_000 }).toBe(3);
    expect(await p.getByTestId("alert-ack").count()).toBe(0);
    expect(await p.getByTestId("rule-new").count()).toBe(0);
    expect(await p.getByTestId("rule-edit").count()).toBe(0);
    // Not in the UI, and not through the API either: the viewer's own session is refused.
    const status = await p.evaluate(async () => {
      const { alerts } = (await (await fetch("/api/alerts?state=active")).json()) as { alerts: { id: string }[] };
      const ack = await fetch(`/api/alerts/${alerts[0]!.id}/ack`, { method: "POST" });
      const cmd = await fetch("/api/devices/env-0001/commands", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "set_interval", params: { interval_s: 5 } }),
      });
      return [ack.status, cmd.status];
    });
    expect(status).toEqual([403, 403]);
    await p.screenshot({ path: join(ARTIFACTS, "alerts-viewer.png"), fullPage: true });
    await p.context().close();
  });

  it("an operator acknowledges and resolves; the admin's audit log shows it", { timeout: 30_000 }, async () => {
    const p = await login("olga", USERS.olga);
    await p.getByTestId("nav-alerts").click();
    await expect.poll(() => p.getByTestId("alert-row").count(), { timeout: 10_000 }).toBe(3);
    expect(await p.getByTestId("rule-new").count()).toBe(0);
    const row = p.locator('[data-testid="alert-row"][data-subject="env-0001"]');
    await row.getByTestId("alert-ack").click();
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 10_000 }).toBe("acknowledged");
    await p.screenshot({ path: join(ARTIFACTS, "alerts-acknowledged.png"), fullPage: true });
    await row.getByTestId("alert-resolve").click();
    // Two still active, one in the resolved table.
    await expect.poll(() => p.getByTestId("alert-row").count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => p.getByTestId("resolved-alerts").getByTestId("alert-row").count()).toBe(1);
    await p.context().close();

    await admin.getByTestId("nav-account").click();
    await expect
      .poll(() => admin.locator('[data-testid="audit-row"][data-action="alert.acknowledge"]').count(), { timeout: 10_000 })
      .toBe(1);
    expect(await admin.locator('[data-testid="audit-row"][data-action="rule.create"]').count()).toBe(1);
    await admin.screenshot({ path: join(ARTIFACTS, "audit.png"), fullPage: true });
  });

  it("makes an API token in the UI that streams readings over SSE", { timeout: 30_000 }, async () => {
    await admin.getByTestId("token-name").fill("script");
    await admin.getByTestId("token-role").selectOption("viewer");
    await admin.getByTestId("token-create").click();
    const token = (await admin.getByTestId("token-secret").textContent({ timeout: 10_000 })) ?? "";
    expect(token).toMatch(/^bvt_/);
    const controller = new AbortController();
    const res = await fetch(`${base}/api/devices/env-0002/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    while ((text.match(/event: reading/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const first = JSON.parse(/event: reading\nid: [^\n]+\ndata: (.*)\n/.exec(text)![1]!) as {
      deviceId: string;
      values: { temperature: number };
    };
    expect(first.deviceId).toBe("env-0002");
    expect(typeof first.values.temperature).toBe("number");
  });

  it("zooms the history by dragging, re-reading the series", { timeout: 30_000 }, async () => {
    await admin.goto(`${base}/#/devices/env-0003`);
    const history = admin.locator(".history");
    await expect.poll(() => admin.getByTestId("history-status").textContent(), { timeout: 10_000 }).toMatch(/points|No data/);
    const box = await admin.getByTestId("history-chart").locator(".u-over").boundingBox();
    expect(box).not.toBeNull();
    await admin.mouse.move(box!.x + box!.width * 0.9, box!.y + box!.height / 2);
    await admin.mouse.down();
    await admin.mouse.move(box!.x + box!.width * 0.995, box!.y + box!.height / 2, { steps: 5 });
    await admin.mouse.up();
    await expect.poll(() => history.getAttribute("data-zoomed"), { timeout: 10_000 }).toBe("true");
    expect(await history.getAttribute("data-resolution")).toBe("raw");
    await expect.poll(() => admin.getByTestId("history-status").textContent(), { timeout: 10_000 }).toMatch(/zoomed|No data/);
    await admin.getByTestId("history-24h").click();
    await expect.poll(() => history.getAttribute("data-resolution")).toBe("1m");
    expect(await history.getAttribute("data-zoomed")).toBe("false");
    // Compare with peers: the same metric of every env sensor on the edge (burst-1 included), live.
    await admin.getByTestId("compare-toggle").click();
    await expect.poll(() => admin.getByTestId("compare-chart").getAttribute("data-series"), { timeout: 10_000 }).toBe("4");
    expect(await admin.getByTestId("compare-chart").locator("canvas").count()).toBeGreaterThan(0);
    await admin.screenshot({ path: join(ARTIFACTS, "device-history.png"), fullPage: true });
  });

  it("shows a gap on the edge page, and the gap rule fires, after the link was cut", { timeout: 60_000 }, async () => {
    const rule = await admin.evaluate(async () => {
      const res = await fetch("/api/alert-rules", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Data lost", kind: "gap_detected", severity: "critical", params: {} }),
      });
      return res.status;
    });
    expect(rule).toBe(201);
    await admin.goto(`${base}/#/edges/edge-1`);
    await expect.poll(() => admin.getByTestId("edge-link-state").getAttribute("data-state"), { timeout: 10_000 }).toBe("online");
    expect(await admin.getByTestId("gap-row").count()).toBe(0);
    proxy.setMode("refuse");
    await expect.poll(() => admin.getByTestId("edge-link-state").getAttribute("data-state"), { timeout: 15_000 }).toBe("offline");
    // While the cloud is unreachable, a device sends more than the outbox may keep.
    const evicted = async () => {
      const text = await (await fetch(`http://127.0.0.1:${edgePorts.http}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith("bv_edge_evicted_readings_total"))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    };
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${edgePorts.mqtt}`, {
      clientId: BURST.deviceId,
      username: BURST.deviceId,
      password: BURST.secret,
    });
    for (let round = 0; round < 100 && (await evicted()) === 0; round++) {
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          device.publishAsync(
            `bv/${BURST.deviceId}/telemetry`,
            JSON.stringify({ ts: Date.now(), values: { temperature: 20 + (i % 5), humidity: 40, co2: 500, battery: 90 } }),
            { qos: 1 },
          ),
        ),
      );
    }
    await device.endAsync();
    expect(await evicted()).toBeGreaterThan(0);
    proxy.setMode("pass");
    await expect.poll(() => admin.getByTestId("gap-row").count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const row = admin.getByTestId("gap-row").first();
    expect(Number(await row.getAttribute("data-last-seq"))).toBeGreaterThanOrEqual(Number(await row.getAttribute("data-first-seq")));
    await expect
      .poll(() => admin.locator('[data-testid="toast"]', { hasText: "Data lost" }).count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => admin.getByTestId("edge-alerts").textContent(), { timeout: 10_000 }).toMatch(/Data lost/);
    await admin.screenshot({ path: join(ARTIFACTS, "edge-gap.png"), fullPage: true });
  });
});
