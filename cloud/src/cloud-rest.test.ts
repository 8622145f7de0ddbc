/** The REST API over real HTTP (fetch): auth, roles, validation, unknown ids, errors. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud } from "./test-support.js";

let t: TestCloud;
let alice: string;
let victor: string;
let edge: EdgeLink;
const T0 = Date.UTC(2025, 5, 1, 10, 0, 0);

interface ErrorBody {
  error: { code: string; message: string; problems?: { path: string; message: string }[] };
}

async function error(res: Response): Promise<ErrorBody["error"]> {
  return ((await res.json()) as ErrorBody).error;
}

beforeAll(async () => {
  t = await startTestCloud();
  alice = await t.login("alice");
  victor = await t.login("victor");
  edge = new EdgeLink(t.grpcAddress);
  edge.hello("edge-1", undefined, [
    { deviceId: "env-1", deviceType: "env-sensor", name: "Hall sensor" },
    { deviceId: "valve-1", deviceType: "valve-actuator", name: "Main valve", online: false },
  ]);
  await edge.next("welcome");
  edge.batch(1, [
    reading(1, "env-1", { temperature: 20, humidity: 40 }, { edgeTimeMs: T0 + 10_000 }),
    reading(2, "env-1", { temperature: 24 }, { edgeTimeMs: T0 + 70_000, deviceTimeMs: T0 + 65_000 }),
    reading(3, "env-1", { temperature: 22 }, { edgeTimeMs: T0 + 40_000 }),
  ]);
  await edge.next("ack");
});

afterAll(async () => {
  edge.close();
  await t.close();
});

describe("auth", () => {
  it("refuses /api without a session, with a JSON 401", async () => {
    for (const path of ["/api/sites", "/api/devices", "/api/auth/me", "/api/nope"]) {
      const res = await t.api(path, undefined);
      expect(res.status).toBe(401);
      expect((await error(res)).code).toBe("UNAUTHENTICATED");
    }
    expect((await t.api("/api/sites", "not-a-session")).status).toBe(401);
  });

  it("logs in with a cookie (HTTP-only, SameSite=Strict) that works like the Bearer token, and logs out", async () => {
    const res = await t.api("/api/auth/login", undefined, {
      method: "POST",
      body: JSON.stringify({ username: "admin", password: "admin-password-1" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: { username: "admin", role: "admin" } });
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^bv_session=[^;]+;/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const pair = cookie.split(";")[0]!;
    const me = await t.api("/api/auth/me", undefined, { headers: { cookie: pair } });
    expect(await me.json()).toEqual({ user: { username: "admin", role: "admin" } });
    expect((await t.api("/api/auth/logout", undefined, { method: "POST", headers: { cookie: pair } })).status).toBe(204);
    expect((await t.api("/api/auth/me", undefined, { headers: { cookie: pair } })).status).toBe(401);
  });

  it("refuses a wrong password and bad login bodies", async () => {
    const wrong = await t.api("/api/auth/login", undefined, {
      method: "POST",
      body: JSON.stringify({ username: "victor", password: "nope" }),
    });
    expect(wrong.status).toBe(401);
    const empty = await t.api("/api/auth/login", undefined, { method: "POST", body: JSON.stringify({ username: 3 }) });
    expect(empty.status).toBe(400);
    expect((await error(empty)).problems?.map((p) => p.path)).toEqual(["username", "password"]);
  });

  it("rate-limits failed logins per username and address with 429", async () => {
    const attempt = (password: string) =>
      t.api("/api/auth/login", undefined, { method: "POST", body: JSON.stringify({ username: "alice", password }) });
    for (let i = 0; i < 5; i++) expect((await attempt("wrong")).status).toBe(401);
    const limited = await attempt("wrong");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await error(limited)).code).toBe("RATE_LIMITED");
    // Even the right password waits out the window; another user is unaffected.
    expect((await attempt("alice-password-1")).status).toBe(429);
    expect(
      (
        await t.api("/api/auth/login", undefined, {
          method: "POST",
          body: JSON.stringify({ username: "victor", password: "victor-password-1" }),
        })
      ).status,
    ).toBe(200);
  });
});

describe("bad requests", () => {
  it("answers bad JSON with 400 BAD_JSON", async () => {
    const res = await t.api("/api/auth/login", undefined, { method: "POST", body: "{not json" });
    expect(res.status).toBe(400);
    expect((await error(res)).code).toBe("BAD_JSON");
  });

  it("answers an oversized body with 413", async () => {
    const res = await t.api("/api/devices/env-1/commands", alice, { method: "POST", body: JSON.stringify({ name: "x".repeat(100_000) }) });
    expect(res.status).toBe(413);
  });

  it("answers unknown ids with 404", async () => {
    for (const path of [
      "/api/devices/nope",
      "/api/edges/nope",
      "/api/commands/nope",
      "/api/devices/nope/readings",
      "/api/devices/nope/commands",
    ]) {
      const res = await t.api(path, alice);
      expect(res.status, path).toBe(404);
      expect((await error(res)).code).toBe("NOT_FOUND");
    }
  });
});

describe("fleet", () => {
  it("lists the catalog, sites with counts, and edges with status", async () => {
    const catalog = (await (await t.api("/api/catalog", victor)).json()) as { types: { type: string }[] };
    expect(catalog.types.map((c) => c.type)).toContain("env-sensor");
    const sites = (await (await t.api("/api/sites", victor)).json()) as { sites: unknown[] };
    expect(sites.sites).toEqual([
      { id: "site-1", name: "Plant 1", edges: 1, devices: 2, online_devices: 1 },
      { id: "site-2", name: "Plant 2", edges: 1, devices: 0, online_devices: 0 },
    ]);
    edge.send({
      kind: {
        $case: "status",
        status: {
          timeMs: T0,
          outboxReadings: 12,
          outboxBytes: 3400,
          oldestAgeSeconds: 1.5,
          evictedReadings: 0,
          gaps: 0,
          deadLetters: 2,
          drainRate: 100,
          etaSeconds: 0.12,
          devicesConnected: 1,
          connectors: [{ id: "plc-1", kind: "opcua", state: "connected", detail: "opc.tcp://plc:4840" }],
          agentVersion: "0.1.0-test",
          bytesWritten: 86_400,
          budgetBytes: 1_000_000,
          clockSynced: true,
          bootId: "boot-1",
          alarms: [],
          uptimeSeconds: 3600,
          controlPending: 0,
        },
      },
    });
    let status: unknown = null;
    for (let i = 0; i < 50 && status === null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = ((await (await t.api("/api/edges/edge-1", victor)).json()) as { edge: { status: unknown } }).edge.status;
    }
    expect(status).toEqual({
      outboxReadings: 12,
      outboxBytes: 3400,
      oldestAgeSeconds: 1.5,
      deadLetters: 2,
      drainRate: 100,
      etaSeconds: 0.12,
      devicesConnected: 1,
      timeMs: T0,
      evictedReadings: 0,
      gaps: 0,
      bytesWritten: 86_400,
      bytesWrittenPerDay: 86_400 * 24,
      budgetBytes: 1_000_000,
      clockSynced: true,
      alarms: [],
      controlPending: 0,
      uptimeSeconds: 3600,
      connectors: [{ id: "plc-1", kind: "opcua", state: "connected", detail: "opc.tcp://plc:4840" }],
    });
    const edges = (await (await t.api("/api/edges", victor)).json()) as { edges: { id: string; online: boolean; siteId: string }[] };
    expect(edges.edges.map((e) => [e.id, e.siteId, e.online])).toEqual([
      ["edge-1", "site-1", true],
      ["edge-2", "site-2", false],
    ]);
  });

  it("filters devices by site, edge, type, text and state", async () => {
    const ids = async (query: string) =>
      ((await (await t.api(`/api/devices${query}`, victor)).json()) as { devices: { id: string }[] }).devices.map((d) => d.id);
    expect(await ids("")).toEqual(["env-1", "valve-1"]);
    expect(await ids("?type=valve-actuator")).toEqual(["valve-1"]);
    expect(await ids("?q=hall")).toEqual(["env-1"]);
    expect(await ids("?state=online")).toEqual(["env-1"]);
    expect(await ids("?state=offline")).toEqual(["valve-1"]);
    expect(await ids("?site=site-2")).toEqual([]);
    expect(await ids("?edge=edge-1&type=env-sensor")).toEqual(["env-1"]);
    expect((await t.api("/api/devices?state=sleeping", victor)).status).toBe(400);
  });

  it("shows a device with its latest values by timestamp", async () => {
    const { device } = (await (await t.api("/api/devices/env-1", victor)).json()) as { device: Record<string, unknown> };
    expect(device).toMatchObject({
      id: "env-1",
      edgeId: "edge-1",
      siteId: "site-1",
      type: "env-sensor",
      name: "Hall sensor",
      online: true,
    });
    expect(device.latest).toEqual({ temperature: { value: 24, ts: T0 + 65_000 }, humidity: { value: 40, ts: T0 + 10_000 } });
  });
});

describe("telemetry", () => {
  it("returns readings ordered by ts within [from, to) and honours limit", async () => {
    const get = async (q: string) =>
      (await (await t.api(`/api/devices/env-1/readings${q}`, victor)).json()) as { readings: Record<string, unknown>[] };
    const all = await get("");
    expect(all.readings.map((r) => r.seq)).toEqual([1, 3, 2]);
    expect(all.readings[2]).toMatchObject({ seq: 2, ts: T0 + 65_000, deviceTimeMs: T0 + 65_000, edgeTimeMs: T0 + 70_000 });
    expect(typeof all.readings[0]?.receivedAt).toBe("number");
    expect((await get(`?from=${T0 + 20_000}&to=${T0 + 65_000}`)).readings.map((r) => r.seq)).toEqual([3]);
    expect((await get("?limit=1")).readings.map((r) => r.seq)).toEqual([1]);
  });

  it("refuses bad numbers with 400 and the problems listed", async () => {
    const res = await t.api("/api/devices/env-1/readings?from=yesterday&limit=0", victor);
    expect(res.status).toBe(400);
    expect((await error(res)).problems?.map((p) => p.path)).toEqual(["from", "limit"]);
    expect((await t.api("/api/devices/env-1/readings?limit=10001", victor)).status).toBe(400);
  });

  it("returns series from rollups and raw", async () => {
    const get = async (q: string) => (await (await t.api(`/api/devices/env-1/series${q}`, victor)).json()) as { points: unknown[] };
    expect((await get("?metric=temperature&resolution=1m")).points).toEqual([
      { ts: T0, min: 20, max: 22, avg: 21, count: 2 },
      { ts: T0 + 60_000, min: 24, max: 24, avg: 24, count: 1 },
    ]);
    expect((await get("?metric=temperature&resolution=1h")).points).toEqual([{ ts: T0, min: 20, max: 24, avg: 22, count: 3 }]);
    expect((await get("?metric=temperature&resolution=raw")).points).toHaveLength(3);
    const bad = await t.api("/api/devices/env-1/series?metric=colour&resolution=5m", victor);
    expect(bad.status).toBe(400);
    expect((await error(bad)).problems?.map((p) => p.path)).toEqual(["resolution", "metric"]);
  });
});

describe("commands", () => {
  it("refuses a viewer with 403", async () => {
    const res = await t.api("/api/devices/valve-1/commands", victor, {
      method: "POST",
      body: JSON.stringify({ name: "open", params: {} }),
    });
    expect(res.status).toBe(403);
    expect((await error(res)).code).toBe("FORBIDDEN");
  });

  it("refuses out-of-range and unknown parameters with 400 and problems, and sends nothing", async () => {
    const res = await t.api("/api/devices/valve-1/commands", alice, {
      method: "POST",
      body: JSON.stringify({ name: "set_position", params: { position: 140, speed: 2 } }),
    });
    expect(res.status).toBe(400);
    const err = await error(res);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.problems?.map((p) => p.path).sort()).toEqual(["params.position", "params.speed"]);
    const unknown = await t.api("/api/devices/valve-1/commands", alice, { method: "POST", body: JSON.stringify({ name: "explode" }) });
    expect(unknown.status).toBe(400);
    const ttl = await t.api("/api/devices/valve-1/commands", alice, { method: "POST", body: JSON.stringify({ name: "open", ttl_s: -1 }) });
    expect((await error(ttl)).problems?.[0]?.path).toBe("ttl_s");
    const list = (await (await t.api("/api/devices/valve-1/commands", alice)).json()) as { commands: unknown[] };
    expect(list.commands).toEqual([]);
    expect(edge.inbox.some((m) => m.kind?.$case === "command")).toBe(false);
  });

  it("lets an admin send a command too", async () => {
    const admin = await t.login("admin");
    const res = await t.api("/api/devices/valve-1/commands", admin, {
      method: "POST",
      body: JSON.stringify({ name: "set_relay", params: { on: true } }),
    });
    expect(res.status).toBe(202);
    expect((await edge.next("command")).command.name).toBe("set_relay");
  });
});

describe("ops and static", () => {
  it("serves /healthz and /metrics without a session", async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", checks: { database: "ok", telemetry: "ok" } });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^bv_cloud_readings_stored_total 3$/m);
    expect(metrics).toMatch(/^bv_cloud_edges_connected 1$/m);
  });

  it("answers / with 503 when the dashboard is not built", async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/dashboard not built: run npm run build/);
  });
});
