// The whole path with real processes: bv-sim → bv-edge (MQTT, outbox) → bv-cloud (gRPC ingest,
// store) → socket.io client and REST history. Every reading the broker acknowledged must arrive
// exactly once, with the values the device sent.
import { join } from "node:path";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Prepared, prepareSystem, ROOT, type Service, startCloud, startEdge, startSim } from "../../scripts/system.mjs";
import { type AckedLine, Api, metricValue, readAckedLog, tempDir, waitFor } from "./support.js";

interface LiveReading {
  deviceId: string;
  seq: number;
  ts: number;
  values: Record<string, unknown>;
}

const SIM_SECONDS = 6;

describe("telemetry path: device → edge → cloud → operator", () => {
  let prepared: Prepared;
  let cloud: Service;
  let edge: Service;
  let sim: Service;
  let api: Api;
  let socket: Socket;
  const live: LiveReading[] = [];
  const watched = "env-0001";

  beforeAll(async () => {
    prepared = prepareSystem({
      dir: tempDir("e2e"),
      scenarioFile: join(ROOT, "firmware-sim/scenarios/demo.yaml"),
      scenarioOverrides: {
        duration_s: SIM_SECONDS,
        fleets: [
          { type: "env-sensor", count: 6, id_prefix: "env-", interval_ms: 100 },
          { type: "valve-actuator", count: 2, id_prefix: "valve-", interval_ms: 250 },
          { type: "cold-chain-tracker", count: 2, id_prefix: "truck-", interval_ms: 250 },
        ],
      },
      extraUsers: [
        { username: "olga", role: "operator", password: "operator-pass-1" },
        { username: "victor", role: "viewer", password: "viewer-pass-1" },
      ],
    });
    cloud = startCloud(prepared);
    const cp = await cloud.ready;
    api = new Api(`http://127.0.0.1:${cp.http}`);
    expect((await api.login("olga", "operator-pass-1")).status).toBe(200);

    // Watch one device live before the fleet starts, as an operator's browser would.
    socket = io(api.base, { extraHeaders: { cookie: api.cookie }, transports: ["websocket"] });
    socket.on("readings", (batch: LiveReading[]) => live.push(...batch));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect_error", reject);
      socket.once("connect", () => resolve());
    });
    edge = startEdge(prepared, cp.grpc as number);
    const ep = await edge.ready;
    // The cloud learns the edge's devices from its Hello; subscribe once it knows the watched one.
    await waitFor("the cloud to know the watched device", async () =>
      (await api.request(`/api/devices/${watched}`)).ok ? true : undefined,
    );
    const ack = await socket.timeout(5000).emitWithAck("subscribe", { device: watched });
    expect(ack).toEqual({ ok: true });
    sim = startSim(prepared, ep.mqtt as number, { args: ["--quiet"] });
  }, 60_000);

  afterAll(async () => {
    socket?.close();
    await sim?.stop();
    await edge?.stop();
    await cloud?.stop();
  });

  it("stores every acknowledged reading exactly once with the right values", async () => {
    const { code } = await sim.exited;
    expect(code, sim.logs()).toBe(0);
    const acked = readAckedLog(prepared.files.ackedLog);
    expect(acked.length).toBeGreaterThan(200);

    await waitFor(
      "the cloud to store every acknowledged reading",
      async () => {
        const text = await (await fetch(`${api.base}/metrics`)).text();
        return (metricValue(text, "bv_cloud_readings_stored_total") ?? 0) >= acked.length ? true : undefined;
      },
      30_000,
    );

    const byDevice = new Map<string, AckedLine[]>();
    for (const line of acked) byDevice.set(line.deviceId, [...(byDevice.get(line.deviceId) ?? []), line]);
    let stored = 0;
    for (const [deviceId, lines] of byDevice) {
      const { readings } = await api.json<{ readings: { ts: number; deviceTimeMs: number | null; values: Record<string, unknown> }[] }>(
        `/api/devices/${deviceId}/readings?from=0&to=${Date.now() + 60_000}&limit=10000`,
      );
      stored += readings.length;
      const key = (ts: number, values: Record<string, unknown>) => `${ts} ${JSON.stringify(Object.entries(values).sort())}`;
      const inStore = readings.map((r) => key(r.deviceTimeMs ?? r.ts, r.values)).sort();
      const sent = lines.map((l) => key(l.ts, l.values)).sort();
      expect(inStore, `readings of ${deviceId}`).toEqual(sent);
    }
    expect(stored).toBe(acked.length);

    const text = await (await fetch(`${api.base}/metrics`)).text();
    expect(metricValue(text, "bv_cloud_readings_stored_total")).toBe(acked.length);
  });

  it("streams the watched device's readings live over socket.io", () => {
    const acked = readAckedLog(prepared.files.ackedLog).filter((l) => l.deviceId === watched);
    const mine = live.filter((r) => r.deviceId === watched);
    expect(mine.length).toBeGreaterThan(acked.length * 0.9);
    expect(live.every((r) => r.deviceId === watched)).toBe(true);
    const sentTs = new Set(acked.map((l) => l.ts));
    expect(mine.every((r) => sentTs.has(r.ts))).toBe(true);
  });

  it("lists the fleet with online state and latest values", async () => {
    const { devices } = await api.json<{ devices: { id: string; type: string; latest: Record<string, { value: unknown; ts: number }> }[] }>(
      "/api/devices",
    );
    expect(devices.map((d) => d.id).sort()).toEqual(prepared.devices.map((d) => d.deviceId).sort());
    const env = devices.find((d) => d.id === watched);
    const last = readAckedLog(prepared.files.ackedLog)
      .filter((l) => l.deviceId === watched)
      .sort((a, b) => a.ts - b.ts)
      .at(-1);
    expect(env?.latest.temperature?.value).toBe(last?.values.temperature);
  });

  it("runs a command from the operator to the device and back", async () => {
    // The simulator has finished; start a fresh one that keeps running to answer the command.
    sim = startSim(prepared, (await edge.ready).mqtt as number, { args: ["--quiet", "--duration", "30"] });
    const valve = "valve-0001";
    await waitFor("the valve to come online", async () => {
      const { device } = await api.json<{ device: { online: boolean } }>(`/api/devices/${valve}`);
      return device.online || undefined;
    });
    const res = await api.request(`/api/devices/${valve}/commands`, {
      method: "POST",
      body: JSON.stringify({ name: "set_position", params: { position: 42 } }),
    });
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: { id: string } };
    const done = await waitFor("the command to succeed", async () => {
      const r = await api.json<{ command: { status: string; result: unknown } }>(`/api/commands/${command.id}`);
      return r.command.status === "succeeded" || r.command.status === "failed" ? r.command : undefined;
    });
    expect(done.status).toBe("succeeded");

    const viewer = new Api(api.base);
    await viewer.login("victor", "viewer-pass-1");
    const denied = await viewer.request(`/api/devices/${valve}/commands`, {
      method: "POST",
      body: JSON.stringify({ name: "open", params: {} }),
    });
    expect(denied.status).toBe(403);
  });
});
