// Clock trust and poison isolation across the real link: the edge agent runs in this process with
// a wall clock that boots at 1970 (a Pi without RTC) and later syncs; a real MQTT device publishes
// readings without timestamps; the real bv-cloud process starts only after the clock synced. The
// readings taken at "1970" land at the times they were really taken. Then a reading the cloud
// refuses is dead-lettered with its reason and the queue keeps moving.
import { silentLogger } from "@bitvelocity/common";
import { type EdgeHandle, loadEdgeConfig, startEdge as startEdgeInProcess } from "@bitvelocity/edge";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { prepareSystem, type Service, startCloud } from "../../scripts/system.mjs";
import { Api, tempDir, waitFor } from "../e2e/support.js";
import { freePort } from "./ports.js";

describe("clock trust and poison readings", () => {
  let edge: EdgeHandle | undefined;
  let cloud: Service | undefined;
  let device: mqtt.MqttClient | undefined;
  afterAll(async () => {
    await device?.endAsync();
    await edge?.stop();
    await cloud?.stop();
  });

  it("re-stamps readings taken before the edge clock synced, and dead-letters a poison reading without blocking", async () => {
    const grpc = await freePort();
    const prepared = prepareSystem({
      dir: tempDir("clock"),
      ports: { grpc },
      scenarioOverrides: { fleets: [{ type: "env-sensor", count: 1, id_prefix: "env-", interval_ms: 1000 }] },
    });
    // Boots at 1970-01-02 and counts from there until "NTP" sets it.
    let synced = false;
    const bootedAt = performance.now();
    const clock = {
      now: () => (synced ? Date.now() : 86_400_000 + (performance.now() - bootedAt)),
      uptimeMs: () => performance.now(),
    };
    const config = loadEdgeConfig(prepared.files.edge, { BV_CLOUD_URL: `127.0.0.1:${grpc}`, BV_EDGE_TOKEN: prepared.secrets.edgeToken });
    edge = await startEdgeInProcess(config, { clock, logger: silentLogger() });
    const [dev] = prepared.devices;
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${edge.ports.mqtt}`, {
      clientId: dev!.deviceId,
      username: dev!.deviceId,
      password: dev!.secret,
      reconnectPeriod: 0,
    });
    const sent: { temperature: number; at: number }[] = [];
    const publish = async (temperature: number) => {
      const at = Date.now();
      // No ts: the device has no RTC either; the edge stamps it.
      await device!.publishAsync(`bv/${dev!.deviceId}/telemetry`, JSON.stringify({ values: { temperature } }), { qos: 1 });
      sent.push({ temperature, at });
      await new Promise((r) => setTimeout(r, 300));
    };
    for (let i = 0; i < 5; i++) await publish(10 + i);
    synced = true;
    for (let i = 0; i < 5; i++) await publish(20 + i);

    cloud = startCloud(prepared);
    const ports = await cloud.ready;
    await waitFor("the edge to drain", () => (edge!.outbox.stats().readings === 0 ? true : undefined), 30_000);
    const api = new Api(`http://127.0.0.1:${ports.http}`);
    expect((await api.login("admin", prepared.secrets.adminPassword)).status).toBe(200);
    const { readings } = await api.json<{ readings: { ts: number; values: { temperature: number } }[] }>(
      `/api/devices/${dev!.deviceId}/readings?from=0&limit=100`,
    );
    expect(readings).toHaveLength(10);
    for (const s of sent) {
      const stored = readings.find((r) => r.values.temperature === s.temperature);
      // Stored at the time it was really taken (not 1970, not the time it reached the cloud).
      expect(Math.abs(stored!.ts - s.at), `temperature ${s.temperature}`).toBeLessThan(1500);
    }

    // A reading the cloud refuses (a catalog mismatch between edge and cloud looks like this).
    await edge.outbox.append({ deviceId: dev!.deviceId, deviceType: "env-sensor", values: { temperature: "hot" } });
    for (let i = 0; i < 3; i++) await publish(30 + i);
    await waitFor("the poison reading to leave the queue", () => (edge!.outbox.stats().readings === 0 ? true : undefined), 15_000);
    const { deadLetters } = await api.json<{ deadLetters: { source: string; reason: string; deviceId: string }[] }>(
      "/api/edges/edge-1/dead-letters",
    );
    expect(deadLetters).toEqual([
      expect.objectContaining({ source: "cloud", deviceId: dev!.deviceId, reason: expect.stringMatching(/temperature/) }),
    ]);
    expect(edge.outbox.stats().deadLetters).toBe(1);
    const after = await api.json<{ readings: { values: { temperature: number } }[] }>(
      `/api/devices/${dev!.deviceId}/readings?from=0&limit=100`,
    );
    expect(after.readings.map((r) => r.values.temperature).filter((t) => t >= 30)).toEqual([30, 31, 32]);
  }, 90_000);
});
