/**
 * Issue 16 item 1: one edge cannot take over another edge's devices, and a device no edge declared
 * is refused by default. Real gRPC streams against a real cloud, checked through its REST API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "../../cloud/src/test-support.js";

let t: TestCloud;
let admin: string;
const links: EdgeLink[] = [];

function link(): EdgeLink {
  const l = new EdgeLink(t.grpcAddress);
  links.push(l);
  return l;
}

async function get<T>(path: string): Promise<T> {
  const res = await t.api(path, admin);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function stored(deviceId: string): Promise<number[]> {
  const res = await t.api(`/api/devices/${deviceId}/readings`, admin);
  if (res.status !== 200) return [];
  return ((await res.json()) as { readings: { seq: number }[] }).readings.map((r) => r.seq);
}

type Letter = { deviceId: string; reason: string; seq: number | null };
const letters = (edgeId: string) => get<{ deadLetters: Letter[] }>(`/api/edges/${edgeId}/dead-letters`).then((b) => b.deadLetters);
const audit = () => get<{ entries: { actor: string; action: string; target: string; detail: Record<string, unknown> }[] }>("/api/audit");

beforeAll(async () => {
  // The production default: no "ingest.undeclared_devices" opt-out.
  t = await startTestCloud({ "ingest.undeclared_devices": "reject" });
  admin = await t.login("admin");
});

afterAll(async () => {
  for (const l of links) l.close();
  await t.close();
});

describe("device ownership", () => {
  it("refuses edge-2's Hello and readings for edge-1's device: not stored, not moved, dead-lettered and audited", async () => {
    const one = link();
    one.hello("edge-1", undefined, [{ deviceId: "env-0001", deviceType: "env-sensor", name: "Boiler room" }]);
    await one.next("welcome");
    await waitFor(async () => (await t.api("/api/devices/env-0001", admin)).status === 200, 5000, "env-0001 registered");

    const two = link();
    two.hello("edge-2", undefined, [{ deviceId: "env-0001", deviceType: "env-sensor", name: "Hijacked" }]);
    await two.next("welcome");
    two.batch(1, [reading(1, "env-0001", { temperature: 99 })]);
    const { ack } = await two.next("ack");
    expect(ack.seqs).toEqual([]);
    expect(ack.rejected).toEqual([{ seq: 1, reason: expect.stringContaining("belongs to edge edge-1") }]);

    const { device } = await get<{ device: { edgeId: string; name: string } }>("/api/devices/env-0001");
    expect(device).toMatchObject({ edgeId: "edge-1", name: "Boiler room" });
    expect(await stored("env-0001")).toEqual([]);
    const dead = await waitFor(async () => (await letters("edge-2")).find((d) => d.deviceId === "env-0001"), 5000, "dead letter");
    expect(dead.reason).toContain("belongs to edge edge-1, not to edge-2");
    const entries = (await audit()).entries.filter((e) => e.action === "device.claim.refused" && e.target === "env-0001");
    expect(entries.map((e) => ({ actor: e.actor, via: e.detail.via }))).toEqual(
      expect.arrayContaining([{ actor: "edge-2", via: "hello" }]),
    );

    // A command to env-0001 still goes to edge-1's stream, never to edge-2's.
    const operator = await t.login("alice");
    const res = await t.api("/api/devices/env-0001/commands", operator, {
      method: "POST",
      body: JSON.stringify({ name: "set_interval", params: { interval_s: 10 } }),
    });
    expect(res.status).toBe(202);
    const { command } = await one.next("command");
    expect(command.deviceId).toBe("env-0001");
    expect(two.inbox.some((m) => m.kind?.$case === "command")).toBe(false);

    // edge-1's own readings still flow.
    one.batch(1, [reading(1, "env-0001", { temperature: 21 })]);
    expect((await one.next("ack")).ack.seqs).toEqual([1]);
    expect(await metricValue("bv_cloud_device_refusals_total", 'reason="foreign",via="reading"')).toBeGreaterThanOrEqual(1);
  });

  it("refuses a reading for a device no edge declared (policy reject, the default) and counts it", async () => {
    const one = link();
    one.hello("edge-1", undefined, []);
    await one.next("welcome");
    one.batch(2, [reading(2, "ghost-7", { temperature: 20 })]);
    const { ack } = await one.next("ack");
    expect(ack.seqs).toEqual([]);
    expect(ack.rejected[0]?.reason).toContain("never declared");
    expect(await stored("ghost-7")).toEqual([]);
    expect((await t.api("/api/devices/ghost-7", admin)).status).toBe(404);
    expect(await metricValue("bv_cloud_device_refusals_total", 'reason="undeclared",via="reading"')).toBeGreaterThanOrEqual(1);
  });

  it("moves a device only by an admin's audited POST /api/devices/:id/move; then the new edge owns it", async () => {
    const operator = await t.login("alice");
    const refused = await t.api("/api/devices/env-0001/move", operator, { method: "POST", body: JSON.stringify({ edgeId: "edge-2" }) });
    expect(refused.status).toBe(403);
    const bad = await t.api("/api/devices/env-0001/move", admin, { method: "POST", body: JSON.stringify({ edge: "edge-2" }) });
    expect(bad.status).toBe(400);
    const unknown = await t.api("/api/devices/env-0001/move", admin, { method: "POST", body: JSON.stringify({ edgeId: "edge-9" }) });
    expect(unknown.status).toBe(404);

    const res = await t.api("/api/devices/env-0001/move", admin, { method: "POST", body: JSON.stringify({ edgeId: "edge-2" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ previousEdgeId: "edge-1", device: { id: "env-0001", edgeId: "edge-2", siteId: "site-2" } });
    const entry = (await audit()).entries.find((e) => e.action === "device.move" && e.target === "env-0001");
    expect(entry).toMatchObject({ actor: "admin", detail: { from: "edge-1", to: "edge-2" } });

    const two = link();
    two.hello("edge-2", undefined, [{ deviceId: "env-0001", deviceType: "env-sensor" }]);
    await two.next("welcome");
    two.batch(5, [reading(5, "env-0001", { temperature: 22 })]);
    expect((await two.next("ack")).ack.seqs).toEqual([5]);
    const one = link();
    one.hello("edge-1", undefined, []);
    await one.next("welcome");
    one.batch(6, [reading(6, "env-0001", { temperature: 23 })]);
    expect((await one.next("ack")).ack.rejected[0]?.reason).toContain("belongs to edge edge-2");
  });
});

async function metricValue(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(" ").pop()) : 0;
}
