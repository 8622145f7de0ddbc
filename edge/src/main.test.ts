import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, isBvError, silentLogger } from "@bitvelocity/common";
import mqtt from "mqtt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadEdgeConfig } from "./config.js";
import { type EdgeHandle, startEdge } from "./main.js";

let dir: string;
let edge: EdgeHandle | undefined;
let blocker: Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-edge-main-"));
});
afterEach(async () => {
  await edge?.stop();
  edge = undefined;
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function config(overrides: Record<string, unknown> = {}) {
  return loadEdgeConfig(
    undefined,
    {},
    {
      edge_id: "edge-main",
      data_dir: dir,
      "mqtt.host": "127.0.0.1",
      "mqtt.port": 0,
      "mqtt.ws_port": 0,
      "http.host": "127.0.0.1",
      "http.port": 0,
      // Nothing listens there: the uplink stays down and the edge keeps buffering.
      "uplink.url": "127.0.0.1:1",
      "uplink.token": "t",
      devices: [{ id: "env-1", type: "env-sensor", secret_hash: hashSecret("pw") }],
      ...overrides,
    },
  );
}

describe("startEdge", () => {
  it("starts every part on port 0, buffers readings, and reports health and metrics over HTTP", async () => {
    edge = await startEdge(config(), { logger: silentLogger() });
    expect(edge.ports.mqtt).toBeGreaterThan(0);
    expect(edge.ports.ws).toBeGreaterThan(0);
    expect(edge.ports.http).toBeGreaterThan(0);

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${edge.ports.mqtt}`, {
      protocolVersion: 4,
      clientId: "env-1",
      username: "env-1",
      password: "pw",
      reconnectPeriod: 0,
    });
    await client.publishAsync("bv/env-1/telemetry", JSON.stringify({ values: { temperature: 19 } }), { qos: 1 });
    await client.endAsync();
    expect(edge.outbox.stats().readings).toBe(1);
    expect(edge.gateway.devices().map((d) => d.deviceId)).toEqual(["env-1"]);

    const health = await fetch(`http://127.0.0.1:${edge.ports.http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: "degraded",
      edgeId: "edge-main",
      checks: { broker: "ok", outbox: "ok", uplink: "down" },
      alarms: [],
    });

    const text = await (await fetch(`http://127.0.0.1:${edge.ports.http}/metrics`)).text();
    expect(text).toMatch(/^bv_edge_outbox_readings\{edge_id="edge-main"\} 1$/m);
    expect(text).toMatch(/^bv_edge_readings_accepted_total\{edge_id="edge-main"\} 1$/m);
    expect(text).toMatch(/^process_cpu_seconds_total/m);
  });

  it("keeps committed readings across a restart, with a new boot id", async () => {
    edge = await startEdge(config(), { logger: silentLogger() });
    const firstBoot = edge.bootId;
    await edge.outbox.append({ deviceId: "env-1", deviceType: "env-sensor", values: { humidity: 50 } });
    await edge.stop();
    edge = await startEdge(config(), { logger: silentLogger() });
    expect(edge.bootId).not.toBe(firstBoot);
    expect(edge.outbox.peek({ limit: 10, maxBytes: 1e6 }).map((r) => [r.bootId, r.values])).toEqual([[firstBoot, { humidity: 50 }]]);
  });

  it("fails with PORT_IN_USE naming the MQTT port and how to change it, and leaves nothing running", async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    const err = await startEdge(config({ "mqtt.port": port }), { logger: silentLogger() }).catch((e: unknown) => e);
    expect(isBvError(err, "PORT_IN_USE")).toBe(true);
    expect((err as Error).message).toBe(`MQTT port ${port} is already in use; set mqtt.port in the config or BV_MQTT_PORT`);
    // The outbox was closed on the way out: the same data dir opens again.
    edge = await startEdge(config(), { logger: silentLogger() });
  });
});
