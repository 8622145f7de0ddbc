/**
 * Remote configuration with real processes: an admin saves versions of the edge's configuration
 * over HTTP; bv-cloud checks them with the edge config schema and sends them over EdgeSync;
 * bv-edge (supervised here as systemd would: exit 75 → start again) applies them hot or by a
 * restart and reports. A version that cuts the link (a wrong cloud address) is rolled back on its
 * own and reported. A device's QoS 1 readings, acknowledged before, during and after the changes,
 * are each stored exactly once. Secrets are masked, saves are audited with a diff, a viewer is refused.
 */
import { join } from "node:path";
import type { AuditEntry, EdgeConfigView } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Prepared, prepareSystem, ROOT, type Service, startCloud, startEdge } from "../../scripts/system.mjs";
import { freePorts } from "../pi/support.js";
import { Api, tempDir, waitFor } from "./support.js";

const RESTART_EXIT_CODE = 75;
const NEW_DEVICE = { id: "cfg-dev-1", secret: "cfg-device-secret-1" };

/** The edge as systemd runs it (Restart=on-failure): started again whenever it exits 75. */
class SupervisedEdge {
  current: Service;
  restarts = 0;
  private stopping = false;

  constructor(private readonly start: () => Service) {
    this.current = start();
    this.watch();
  }

  private watch(): void {
    const service = this.current;
    void service.exited.then(({ code }: { code: number | null }) => {
      if (this.stopping || code !== RESTART_EXIT_CODE) return;
      this.restarts++;
      this.current = this.start();
      this.watch();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.current.stop();
  }
}

/** Publishes env-sensor readings at QoS 1; resolves with the device times of those the edge acknowledged. */
async function publish(port: number, device: { id: string; secret: string }, count: number, firstTs: number): Promise<number[]> {
  const client = await mqtt.connectAsync(
    `mqtt://127.0.0.1:${port}`,
    {
      clientId: device.id,
      username: device.id,
      password: device.secret,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    },
    false,
  );
  const acked: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const ts = firstTs + i;
      await client.publishAsync(`bv/${device.id}/telemetry`, JSON.stringify({ ts, values: { temperature: 20 + (i % 5) } }), { qos: 1 });
      acked.push(ts);
    }
  } finally {
    await client.endAsync();
  }
  return acked;
}

/** True when the broker accepts an MQTT connection from this device now. */
async function canConnect(port: number, device: { id: string; secret: string }): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(
      `mqtt://127.0.0.1:${port}`,
      {
        clientId: device.id,
        username: device.id,
        password: device.secret,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      },
      false,
    );
    await client.endAsync();
    return true;
  } catch {
    return false;
  }
}

describe("remote configuration: dashboard API → cloud → edge, and back", () => {
  let prepared: Prepared;
  let cloud: Service;
  let edge: SupervisedEdge;
  let admin: Api;
  let viewer: Api;
  let mqttPort: number;
  let grpcPort: number;
  const acked: number[] = [];
  const base = Date.now();

  const view = () => admin.json<EdgeConfigView>("/api/edges/edge-1/config");
  const save = (yaml: string, baseVersion?: number) =>
    admin.request("/api/edges/edge-1/config", { method: "POST", body: JSON.stringify({ yaml, baseVersion }) });
  const stateOf = async (version: number) => (await view()).versions.find((v) => v.version === version);
  const settled = (version: number, timeoutMs = 20_000) =>
    waitFor(
      `version ${version} to be reported`,
      async () => {
        const v = await stateOf(version);
        return v && v.state !== "pending" ? v : undefined;
      },
      timeoutMs,
    );
  const otherDevice = () => {
    const d = prepared.devices[0];
    if (!d) throw new Error("no device");
    return { id: d.deviceId, secret: d.secret };
  };

  beforeAll(async () => {
    [mqttPort] = await freePorts(1);
    prepared = prepareSystem({
      dir: tempDir("e2e-rcfg"),
      scenarioFile: join(ROOT, "firmware-sim/scenarios/demo.yaml"),
      scenarioOverrides: { fleets: [{ type: "env-sensor", count: 2, id_prefix: "env-", interval_ms: 1000 }] },
      ports: { mqtt: mqttPort, mqttWs: null },
      extraUsers: [{ username: "victor", role: "viewer", password: "viewer-pass-1" }],
      // The link is checked every second, so a cut link is noticed quickly.
      edgeOverrides: { uplink: { backoff_initial_ms: 100, backoff_max_ms: 1000, keepalive_ms: 1000 } },
    });
    cloud = startCloud(prepared);
    const cp = await cloud.ready;
    grpcPort = cp.grpc as number;
    edge = new SupervisedEdge(() => startEdge(prepared, grpcPort));
    await edge.current.ready;
    admin = new Api(`http://127.0.0.1:${cp.http}`);
    viewer = new Api(admin.base);
    expect((await admin.login("admin", prepared.secrets.adminPassword)).status).toBe(200);
    expect((await viewer.login("victor", "viewer-pass-1")).status).toBe(200);
    await waitFor("the edge to connect", async () => ((await view()).runningVersion === 0 ? true : undefined));
    acked.push(...(await publish(mqttPort, otherDevice(), 20, base)));
  }, 60_000);

  afterAll(async () => {
    await edge?.stop();
    await cloud?.stop();
  });

  it("applies a new device and a broker limit hot, without a restart", async () => {
    const yaml = stringify({
      devices: [{ id: NEW_DEVICE.id, type: "env-sensor", secret_hash: hashSecret(NEW_DEVICE.secret) }],
      mqtt: { limits: { max_connections: 1 } },
    });
    expect(await canConnect(mqttPort, NEW_DEVICE)).toBe(false);
    const res = await save(yaml, 0);
    expect(res.status, await res.clone().text()).toBe(201);
    const v1 = await settled(1);
    expect(v1).toMatchObject({ state: "applied", restarted: false, problems: [] });
    expect((await view()).runningVersion).toBe(1);
    expect(edge.restarts).toBe(0);
    // The new device may connect; with max_connections 1, a second connection meanwhile is refused.
    const client = await mqtt.connectAsync(
      `mqtt://127.0.0.1:${mqttPort}`,
      {
        clientId: NEW_DEVICE.id,
        username: NEW_DEVICE.id,
        password: NEW_DEVICE.secret,
        reconnectPeriod: 0,
      },
      false,
    );
    expect(await canConnect(mqttPort, otherDevice())).toBe(false);
    await client.endAsync();
    acked.push(...(await publish(mqttPort, NEW_DEVICE, 20, base + 1000)));
  });

  it("masks secrets, keeps a masked secret sent back, and audits the change with a diff", async () => {
    const latest = (await view()).latest;
    expect(latest?.yaml).toContain('secret_hash: "********"');
    expect(latest?.yaml).not.toContain("sha256$");
    // Edited as the dashboard would: the masked document with one limit changed.
    const edited = (latest?.yaml ?? "").replace("max_connections: 1", "max_connections: 50");
    const res = await save(edited, 1);
    expect(res.status, await res.clone().text()).toBe(201);
    // The edge checks secret_hash: applied means it received the stored hash, not the mask.
    expect(await settled(2)).toMatchObject({ state: "applied", restarted: false });
    expect(await canConnect(mqttPort, otherDevice())).toBe(true);
    expect(await canConnect(mqttPort, NEW_DEVICE)).toBe(true);

    const { entries } = await admin.json<{ entries: AuditEntry[] }>("/api/audit?action=edge.config.save");
    const v2 = entries.find((e) => e.detail.version === 2);
    expect(v2?.actor).toBe("admin");
    expect(v2?.detail.diff).toContain("-     max_connections: 1");
    expect(v2?.detail.diff).toContain("+     max_connections: 50");
    expect(JSON.stringify(entries)).not.toContain("sha256$");
  });

  it("refuses an invalid document in the cloud with every problem, and one the edge finds wrong over its file", async () => {
    const res = await save(stringify({ mqtt: { limits: { max_connections: 0 } }, devices: [{ id: "x", type: "toaster" }] }));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { problems: { path: string }[] } };
    expect(body.error.problems.map((p) => p.path).sort()).toEqual([
      "devices.0.secret_hash",
      "devices.0.type",
      "mqtt.limits.max_connections",
    ]);

    // Valid on its own, but env-0001 is already in the edge's devices file: only the edge can tell.
    const d = otherDevice();
    const clash = stringify({ devices: [{ id: d.id, type: "env-sensor", secret_hash: hashSecret(d.secret) }] });
    expect((await save(clash)).status).toBe(201);
    const v3 = await settled(3);
    expect(v3.state).toBe("rejected");
    expect(v3.problems.join("\n")).toContain(`device id ${d.id} is in both devices and`);
    expect((await view()).runningVersion).toBe(2);
    expect(edge.restarts).toBe(0);
  });

  it("rolls back a version that cuts the link, and reports why once it is back", async () => {
    const latest = (await view()).versions.find((v) => v.version === 2);
    expect(latest?.state).toBe("applied");
    const cut = stringify({
      devices: [{ id: NEW_DEVICE.id, type: "env-sensor", secret_hash: hashSecret(NEW_DEVICE.secret) }],
      uplink: { url: "127.0.0.1:1" },
      remote_config: { rollback_after_s: 8 },
    });
    expect((await save(cut)).status).toBe(201);
    // The uplink is built at start: the edge restarts (exit 75) onto the new address, which is wrong.
    await waitFor("the edge to restart", () => (edge.restarts >= 1 ? true : undefined), 20_000);
    await edge.current.ready;
    // Readings acknowledged while the link is cut wait in the outbox.
    acked.push(...(await publish(mqttPort, NEW_DEVICE, 20, base + 2000)));
    const v4 = await settled(4, 40_000);
    expect(v4.state).toBe("rolled-back");
    expect(v4.problems.join("\n")).toMatch(/could not reach the cloud for 8 s after applying version 4; back to version 2/);
    expect(edge.restarts).toBe(2);
    expect((await view()).runningVersion).toBe(2);
    const { entries } = await admin.json<{ entries: AuditEntry[] }>("/api/audit?action=edge.config.rolled-back");
    expect(entries.some((e) => e.detail.version === 4)).toBe(true);
    acked.push(...(await publish(mqttPort, NEW_DEVICE, 20, base + 3000)));
  }, 90_000);

  it("stores every acknowledged reading exactly once through all of it", async () => {
    const stored = async () => {
      const all: number[] = [];
      for (const id of [otherDevice().id, NEW_DEVICE.id]) {
        const { readings } = await admin.json<{ readings: { deviceTimeMs: number | null; ts: number }[] }>(
          `/api/devices/${id}/readings?from=0&to=${Date.now() + 60_000}&limit=10000`,
        );
        all.push(...readings.map((r) => r.deviceTimeMs ?? r.ts));
      }
      return all.sort((a, b) => a - b);
    };
    await waitFor("every reading to be stored", async () => ((await stored()).length >= acked.length ? true : undefined), 20_000);
    expect(await stored()).toEqual([...acked].sort((a, b) => a - b));
  });

  it("refuses a viewer with 403 and audits the refusal", async () => {
    expect((await viewer.request("/api/edges/edge-1/config")).status).toBe(403);
    const post = await viewer.request("/api/edges/edge-1/config", { method: "POST", body: JSON.stringify({ yaml: "" }) });
    expect(post.status).toBe(403);
    const { entries } = await admin.json<{ entries: AuditEntry[] }>("/api/audit?action=edge.config.refused");
    expect(entries.filter((e) => e.actor === "victor").length).toBe(2);
  });
});
