/**
 * Adaptive coalescing against real peers: a socket.io client and an SSE reader on a real HTTP
 * server, with a coalescing window of a minute, so a reading that arrives at all did not wait for it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import { Registry } from "prom-client";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionStore, UserStore } from "../identity/index.js";
import { identityMigrations } from "../identity/migrations.js";
import { loadCloudConfig } from "../platform/config.js";
import { type Database, openDatabase } from "../platform/database.js";
import { EventBus } from "../platform/event-bus.js";
import type { DeviceSummary } from "../platform/events.js";
import { LiveHub } from "./live-hub.js";
import { SseFanout } from "./sse-stream.js";

const device: DeviceSummary = {
  id: "env-1",
  edgeId: "edge-1",
  siteId: "site-1",
  type: "env-sensor",
  name: "env-1",
  online: true,
  lastSeen: null,
  latest: {},
};
const WINDOW_MS = 60_000;

let dir: string;
let db: Database;
let http: Server;
let hub: LiveHub;
let sse: SseFanout;
let token: string;
let url: string;
const bus = new EventBus();

function commit(seqs: number[]): void {
  bus.emit("readingsCommitted", {
    edgeId: "edge-1",
    siteId: "site-1",
    replay: false,
    readings: seqs.map((seq) => ({ seq, deviceId: "env-1", deviceType: "env-sensor", ts: seq, values: { temperature: seq } })),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-live-"));
  db = await openDatabase(dir, [{ name: "identity", migrations: identityMigrations }]);
  await new UserStore(db).seed(
    loadCloudConfig(undefined, {}, { data_dir: dir, "admin.password": "admin-password-1" }),
    silentLogger(),
    () => {},
  );
  const sessions = new SessionStore(db, 3_600_000);
  token = (await sessions.create({ username: "admin", role: "admin" })).token;
  http = createServer();
  const registry = new Registry();
  sse = new SseFanout({ bus, throttleMs: WINDOW_MS, maxBuffered: 50, registry });
  http.on("request", (req, res) => {
    if (req.url === "/stream") sse.open(res, device);
  });
  hub = new LiveHub(http, {
    bus,
    sessions,
    directory: {
      device: (id) => (id === device.id ? device : undefined),
      edge: () => undefined,
      hasSite: () => false,
      devices: () => [device],
      edges: () => [],
    },
    throttleMs: WINDOW_MS,
    maxBuffered: 50,
    registry,
    logger: silentLogger(),
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  sse?.close();
  await hub?.close();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function watcher(): Promise<{ socket: Socket; seqs: number[]; packets: number }> {
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  const w = { socket, seqs: [] as number[], packets: 0 };
  socket.on("readings", (batch: { seq: number }[]) => {
    w.packets++;
    for (const r of batch) w.seqs.push(r.seq);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  expect(await socket.timeout(2000).emitWithAck("subscribe", { device: "env-1" })).toEqual({ ok: true });
  return w;
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("adaptive live coalescing", () => {
  it("sends a reading to an idle socket.io client at once, not after the window", async () => {
    const w = await watcher();
    commit([1, 2]);
    await until(() => w.seqs.length === 2);
    expect(w.seqs).toEqual([1, 2]);
    expect(w.packets).toBe(1); // one commit, one packet
    commit([3]);
    await until(() => w.seqs.length === 3);
    w.socket.disconnect();
  });

  it("drops nothing for a client that keeps up, in order, however fast commits come", async () => {
    const w = await watcher();
    // 400 commits of 10 readings, each in its own turn: 8× the buffer bound of 50 per commit burst.
    let seq = 100;
    for (let i = 0; i < 400; i++) {
      commit(Array.from({ length: 10 }, () => ++seq));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => w.seqs.length === 4000);
    expect(w.seqs).toEqual(Array.from({ length: 4000 }, (_, i) => 101 + i));
    expect(w.packets).toBeLessThanOrEqual(400);
    w.socket.disconnect();
  });

  it("sends a reading to an idle SSE client at once", async () => {
    const controller = new AbortController();
    const res = await fetch(`${url}/stream`, { signal: controller.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const read = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += value;
      }
    };
    await read(/event: device/);
    commit([9001]);
    await read(/id: edge-1:9001/);
    expect(text).toMatch(/event: reading\nid: edge-1:9001\ndata: \{"deviceId":"env-1","seq":9001/);
    controller.abort();
  });
});
