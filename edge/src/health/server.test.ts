import { silentLogger } from "@bitvelocity/common";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { type HealthChecks, HealthServer } from "./server.js";

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(checks: HealthChecks, registry = new Registry()): Promise<string> {
  const server = new HealthServer({ host: "127.0.0.1", port: 0, edgeId: "edge-h", registry, checks, logger: silentLogger() });
  servers.push(server);
  return `http://127.0.0.1:${await server.start()}`;
}

describe("HealthServer", () => {
  it("answers 200 ok when every part works", async () => {
    const url = await start({ broker: () => true, outbox: () => true, uplink: () => true });
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", edgeId: "edge-h", checks: { broker: "ok", outbox: "ok", uplink: "ok" }, alarms: [] });
  });

  it("is degraded (still 200) without the uplink, and 503 without the outbox", async () => {
    let outboxUp = true;
    const url = await start({ broker: () => true, outbox: () => outboxUp, uplink: () => false });
    let res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "degraded", checks: { uplink: "down" } });
    outboxUp = false;
    res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", checks: { outbox: "down" } });
  });

  it("is degraded with the alarms listed while an alarm is active", async () => {
    let alarms: string[] = ["OUTBOX_DISK_FULL: the disk is full"];
    const url = await start({ broker: () => true, outbox: () => true, uplink: () => true, alarms: () => alarms });
    let res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "degraded", alarms: ["OUTBOX_DISK_FULL: the disk is full"] });
    alarms = [];
    res = await fetch(`${url}/healthz`);
    expect(await res.json()).toMatchObject({ status: "ok", alarms: [] });
  });

  it("serves the registry's metrics as Prometheus text", async () => {
    const registry = new Registry();
    new Counter({ name: "bv_test_things_total", help: "things", registers: [registry] }).inc(3);
    const url = await start({ broker: () => true, outbox: () => true, uplink: () => true }, registry);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    expect(await res.text()).toMatch(/^bv_test_things_total 3$/m);
  });

  it("answers 404 JSON for other paths and 405 for other methods", async () => {
    const url = await start({ broker: () => true, outbox: () => true, uplink: () => true });
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not found", path: "/nope" });
    expect((await fetch(`${url}/healthz`, { method: "POST" })).status).toBe(405);
  });

  it("fails with PORT_IN_USE naming the port and how to change it", async () => {
    const url = await start({ broker: () => true, outbox: () => true, uplink: () => true });
    const port = Number(new URL(url).port);
    const second = new HealthServer({
      host: "127.0.0.1",
      port,
      edgeId: "e",
      registry: new Registry(),
      checks: { broker: () => true, outbox: () => true, uplink: () => true },
      logger: silentLogger(),
    });
    const err = (await second.start().catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(err.code).toBe("PORT_IN_USE");
    expect(err.message).toContain(`HTTP port ${port} is already in use; set http.port in the config or BV_EDGE_HTTP_PORT`);
  });
});
