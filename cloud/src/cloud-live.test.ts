/** Live fan-out with a real socket.io-client against readings ingested through real gRPC. */
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

let t: TestCloud;
let token: string;
let edge: EdgeLink;
const sockets: Socket[] = [];

function connect(auth: Record<string, unknown> = { token }, extra: Record<string, unknown> = {}): Socket {
  const s = io(t.url, { auth, transports: ["websocket"], reconnection: false, forceNew: true, ...extra });
  sockets.push(s);
  return s;
}

function connected(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("connect_error", reject);
  });
}

function subscribe(s: Socket, topic: unknown): Promise<{ ok: boolean; error?: string }> {
  return s.timeout(2000).emitWithAck("subscribe", topic);
}

beforeAll(async () => {
  t = await startTestCloud({ "live.max_buffered": 20 });
  token = await t.login("victor");
  edge = new EdgeLink(t.grpcAddress);
  edge.hello("edge-1", undefined, [
    { deviceId: "env-1", deviceType: "env-sensor" },
    { deviceId: "env-2", deviceType: "env-sensor" },
  ]);
  await edge.next("welcome");
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  edge.close();
  await t.close();
});

describe("live", () => {
  it("refuses an unauthenticated connection with connect_error unauthorized", async () => {
    const s = connect({});
    const err = await new Promise<Error>((resolve) => s.once("connect_error", resolve));
    expect(err.message).toBe("unauthorized");
    const bad = connect({ token: "forged" });
    expect((await new Promise<Error>((resolve) => bad.once("connect_error", resolve))).message).toBe("unauthorized");
  });

  it("accepts the session cookie in the handshake", async () => {
    const s = connect({}, { extraHeaders: { cookie: `bv_session=${encodeURIComponent(token)}` } });
    await connected(s);
    expect(await subscribe(s, { fleet: true })).toEqual({ ok: true });
  });

  it("acks subscriptions and refuses unknown ids and bad shapes", async () => {
    const s = connect();
    await connected(s);
    expect(await subscribe(s, { device: "env-1" })).toEqual({ ok: true });
    expect(await subscribe(s, { site: "site-1" })).toEqual({ ok: true });
    expect(await subscribe(s, { edge: "edge-1" })).toEqual({ ok: true });
    expect((await subscribe(s, { device: "ghost" })).ok).toBe(false);
    expect((await subscribe(s, { edge: "ghost" })).error).toMatch(/unknown edge/);
    expect((await subscribe(s, { site: "ghost" })).error).toMatch(/unknown site/);
    expect((await subscribe(s, { fleet: "yes" })).ok).toBe(false);
    expect((await subscribe(s, "device")).ok).toBe(false);
    expect((await subscribe(s, { device: "env-1", edge: "edge-1" })).ok).toBe(false);
  });

  it("delivers readings of a subscribed device ingested through gRPC, and only those", async () => {
    const s = connect();
    await connected(s);
    const got: { deviceId: string; seq: number; ts: number; values: Record<string, unknown> }[] = [];
    s.on("readings", (batch: typeof got) => got.push(...batch));
    expect(await subscribe(s, { device: "env-1" })).toEqual({ ok: true });
    edge.batch(1, [reading(1, "env-1", { temperature: 21 }), reading(2, "env-2", { temperature: 30 }), reading(3, "env-1", { co2: 700 })]);
    await edge.next("ack");
    await waitFor(() => got.length >= 2, 3000, "readings");
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toEqual([
      { deviceId: "env-1", seq: 1, ts: 1_750_000_001_000, values: { temperature: 21 } },
      { deviceId: "env-1", seq: 3, ts: 1_750_000_003_000, values: { co2: 700 } },
    ]);
    // After unsubscribing nothing more arrives.
    expect(await s.timeout(2000).emitWithAck("unsubscribe", { device: "env-1" })).toEqual({ ok: true });
    edge.batch(2, [reading(4, "env-1", { temperature: 22 })]);
    await edge.next("ack");
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((r) => r.seq)).toEqual([1, 3]);
  });

  it("gives fleet subscribers device and edge summaries, not readings", async () => {
    const s = connect();
    await connected(s);
    const devices: { id: string; latest: Record<string, { value: unknown }> }[] = [];
    const edges: { id: string; online: boolean }[] = [];
    let readings = 0;
    s.on("devices", (batch: typeof devices) => devices.push(...batch));
    s.on("edge", (e: (typeof edges)[number]) => edges.push(e));
    s.on("readings", () => readings++);
    expect(await subscribe(s, { fleet: true })).toEqual({ ok: true });
    await waitFor(() => edges.some((e) => e.id === "edge-1" && e.online), 3000, "edge snapshot");
    edge.batch(3, [reading(10, "env-2", { temperature: 26.5 })]);
    await edge.next("ack");
    await waitFor(() => devices.some((d) => d.id === "env-2" && d.latest.temperature?.value === 26.5), 3000, "device update");
    expect(readings).toBe(0);
  });

  it("gives an edge page the readings of its devices and their changes of state, a device page every change", async () => {
    type Summary = { id: string; latest: Record<string, { value: unknown }> };
    const edgePage = connect();
    const devicePage = connect();
    await Promise.all([connected(edgePage), connected(devicePage)]);
    const edgeSummaries: Summary[] = [];
    const deviceSummaries: Summary[] = [];
    const edgeReadings: { seq: number }[] = [];
    edgePage.on("devices", (batch: Summary[]) => edgeSummaries.push(...batch));
    edgePage.on("readings", (batch: typeof edgeReadings) => edgeReadings.push(...batch));
    devicePage.on("devices", (batch: Summary[]) => deviceSummaries.push(...batch));
    expect(await subscribe(edgePage, { edge: "edge-1" })).toEqual({ ok: true });
    expect(await subscribe(devicePage, { device: "env-1" })).toEqual({ ok: true });
    await waitFor(() => edgeSummaries.length >= 2 && deviceSummaries.length >= 1, 3000, "snapshots");
    edgeSummaries.length = 0;
    // env-1 is known and online: this reading changes its latest values only.
    edge.batch(50, [reading(500, "env-1", { temperature: 23 })]);
    await edge.next("ack");
    await waitFor(
      () => edgeReadings.some((r) => r.seq === 500) && deviceSummaries.some((d) => d.latest.temperature?.value === 23),
      3000,
      "the reading on the edge page and the summary on the device page",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(edgeSummaries).toEqual([]);
  });

  it("gives a page that subscribes after a device appeared a snapshot with it, though snapshots are shared for a second", async () => {
    type Summary = { id: string };
    const first = connect();
    const second = connect();
    await Promise.all([connected(first), connected(second)]);
    const seen = (s: Socket) => {
      const ids = new Set<string>();
      s.on("devices", (batch: Summary[]) => {
        for (const d of batch) ids.add(d.id);
      });
      return ids;
    };
    const firstIds = seen(first);
    const secondIds = seen(second);
    expect(await subscribe(first, { edge: "edge-1" })).toEqual({ ok: true });
    await waitFor(() => firstIds.has("env-1"), 3000, "the first snapshot");
    expect(firstIds.has("env-new")).toBe(false);
    // A device the cloud has not seen (auto-registered): a change of state, within the second the snapshot is shared.
    edge.batch(60, [reading(600, "env-new", { temperature: 20 })]);
    await edge.next("ack");
    expect(await subscribe(second, { edge: "edge-1" })).toEqual({ ok: true });
    await waitFor(() => secondIds.has("env-1"), 3000, "the second snapshot");
    expect(secondIds.has("env-new")).toBe(true);
  });

  it("never lets a client that does not read slow ingest down; its buffer stays bounded", async () => {
    const slow = connect();
    await connected(slow);
    expect(await subscribe(slow, { edge: "edge-1" })).toEqual({ ok: true });
    // Stop reading from the socket: the TCP window fills and the server cannot write to it.
    const engine = slow.io.engine as unknown as { transport: { ws?: { _socket?: { pause(): void } } } };
    engine.transport.ws?._socket?.pause();
    const started = Date.now();
    const batches = 40;
    for (let b = 0; b < batches; b++) {
      const readings = Array.from({ length: 50 }, (_, i) => reading(1000 + b * 50 + i, "env-1", { temperature: 20 + (i % 10) }));
      const ackAt = Date.now();
      edge.batch(100 + b, readings);
      const { ack } = await edge.next("ack", 2000);
      expect(ack.seqs).toHaveLength(50);
      expect(Date.now() - ackAt).toBeLessThan(1000);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const dropped = Number(/^bv_cloud_live_dropped_total (\d+)/m.exec(metrics)?.[1]);
    expect(dropped).toBeGreaterThan(0);
  });
});
