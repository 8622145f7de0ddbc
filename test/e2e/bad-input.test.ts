// Bad input at the system's edges, against the real programs: broken config files make each
// program list every problem and exit 1; bad device credentials and foreign topics are refused
// by the real broker while a good device keeps working; the API refuses the unauthenticated.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BINS, type Prepared, prepareSystem, type Service, spawnService, startCloud, startEdge } from "../../scripts/system.mjs";
import { Api, tempDir, waitFor } from "./support.js";

async function runToExit(bin: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const svc = spawnService({ name: "cli", bin, args });
  const { code } = await svc.exited;
  return { code, output: svc.logs() };
}

describe("invalid configuration: every problem listed, exit 1", () => {
  const dir = tempDir("badcfg");

  it("bv-edge", async () => {
    const file = join(dir, "edge.yaml");
    writeFileSync(file, "version: 1\nmqtt: { port: 99999 }\nbogus: 1\ndevices:\n  - { id: 'a/b', type: toaster, secret_hash: plain }\n");
    const { code, output } = await runToExit(BINS.edge, ["--config", file]);
    expect(code).toBe(1);
    for (const path of ["edge_id", "mqtt.port", "devices.0.id", "devices.0.type", "devices.0.secret_hash"]) expect(output).toContain(path);
    expect(output).toMatch(/bogus/);
  });

  it("bv-cloud", async () => {
    const file = join(dir, "cloud.yaml");
    writeFileSync(file, "version: 1\nhttp: { port: -1 }\nedges: [{ id: e1 }]\nusers: [{ username: x, role: god, password_hash: h }]\n");
    const { code, output } = await runToExit(BINS.cloud, ["--config", file]);
    expect(code).toBe(1);
    for (const path of ["http.port", "edges.0", "users.0.role"]) expect(output).toContain(path);
  });

  it("bv-sim", async () => {
    const file = join(dir, "scenario.yaml");
    writeFileSync(file, "version: 1\nfleets: [{ type: toaster, count: -2, id_prefix: t- }]\n");
    const { code, output } = await runToExit(BINS.sim, ["--scenario", file]);
    expect(code).toBe(1);
    expect(output).toContain("fleets.0.type");
    expect(output).toContain("fleets.0.count");
  });

  it("a missing config file is a clear error, not a stack trace", async () => {
    const { code, output } = await runToExit(BINS.edge, ["--config", join(dir, "nope.yaml")]);
    expect(code).toBe(1);
    expect(output).toMatch(/cannot read/);
    expect(output).not.toMatch(/\bat .*\.js:\d+/);
  });
});

describe("the running system refuses bad clients and keeps serving good ones", () => {
  let prepared: Prepared;
  let cloud: Service;
  let edge: Service;
  let mqttUrl: string;
  let api: Api;

  beforeAll(async () => {
    prepared = prepareSystem({
      dir: tempDir("bad"),
      scenarioOverrides: { fleets: [{ type: "env-sensor", count: 2, id_prefix: "env-", interval_ms: 1000 }] },
    });
    cloud = startCloud(prepared);
    const cp = await cloud.ready;
    api = new Api(`http://127.0.0.1:${cp.http}`);
    edge = startEdge(prepared, cp.grpc as number);
    mqttUrl = `mqtt://127.0.0.1:${(await edge.ready).mqtt}`;
  }, 60_000);

  afterAll(async () => {
    await edge?.stop();
    await cloud?.stop();
  });

  function connect(
    username: string,
    password: string,
    clientId = username,
  ): Promise<{ client: mqtt.MqttClient; error?: Error & { code?: number } }> {
    return new Promise((resolve) => {
      const client = mqtt.connect(mqttUrl, { username, password, clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
      client.once("connect", () => resolve({ client }));
      client.once("error", (error) => resolve({ client, error }));
    });
  }

  it("answers bad credentials with CONNACK 4 and a client id mismatch with 2", async () => {
    const [good, other] = prepared.devices;
    const wrong = await connect(good!.deviceId, "wrong");
    expect(wrong.error?.code).toBe(4);
    wrong.client.end(true);
    const unknown = await connect("ghost-0001", "x");
    expect(unknown.error?.code).toBe(4);
    unknown.client.end(true);
    const mismatch = await connect(good!.deviceId, good!.secret, other!.deviceId);
    expect(mismatch.error?.code).toBe(2);
    mismatch.client.end(true);
  });

  it("disconnects a device publishing to another device's topic, and stores nothing from it", async () => {
    const [good, other] = prepared.devices;
    const { client, error } = await connect(good!.deviceId, good!.secret);
    expect(error).toBeUndefined();
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.publish(`bv/${other!.deviceId}/telemetry`, JSON.stringify({ values: { temperature: 99 } }), { qos: 1 });
    await closed;
    client.end(true);

    // A well-behaved device still gets its reading through to the cloud.
    const ok = await connect(other!.deviceId, other!.secret);
    await ok.client.publishAsync(`bv/${other!.deviceId}/telemetry`, JSON.stringify({ ts: Date.now(), values: { temperature: 20.5 } }), {
      qos: 1,
    });
    ok.client.end();
    const admin = new Api(api.base);
    await admin.login("admin", prepared.secrets.adminPassword);
    const readings = await waitFor("the good reading in the cloud", async () => {
      const r = await admin.json<{ readings: { values: Record<string, unknown> }[] }>(`/api/devices/${other!.deviceId}/readings?limit=100`);
      return r.readings.length > 0 ? r.readings : undefined;
    });
    expect(readings.map((r) => r.values.temperature)).toEqual([20.5]);
  });

  it("refuses unauthenticated API calls and bad logins", async () => {
    for (const path of ["/api/devices", "/api/edges", "/api/devices/env-0001/readings"]) {
      expect((await fetch(`${api.base}${path}`)).status).toBe(401);
    }
    expect((await api.login("admin", "not-the-password")).status).toBe(401);
    const badJson = await fetch(`${api.base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(badJson.status).toBe(400);
  });
});
