/** EdgeSync ingest against a real grpc-js client, checked through the real REST API. */
import { connect } from "node:http2";
import { CommandStatus } from "@bitvelocity/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowControlWindow } from "./ingest/ingest-server.js";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

let t: TestCloud;
let token: string;
const links: EdgeLink[] = [];

function link(): EdgeLink {
  const l = new EdgeLink(t.grpcAddress);
  links.push(l);
  return l;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").pop()) : Number.NaN;
}

async function readings(deviceId: string): Promise<{ seq: number; values: Record<string, unknown> }[]> {
  const res = await t.api(`/api/devices/${deviceId}/readings`, token);
  if (res.status !== 200) return [];
  return ((await res.json()) as { readings: { seq: number; values: Record<string, unknown> }[] }).readings;
}

beforeAll(async () => {
  t = await startTestCloud({ "ingest.max_batch_readings": 50 });
  token = await t.login("alice");
});

afterAll(async () => {
  for (const l of links) l.close();
  await t.close();
});

describe("EdgeSync handshake", () => {
  it("refuses a wrong token with UNAUTHENTICATED", async () => {
    const l = link();
    l.hello("edge-1", "wrong-token");
    expect((await l.closed)?.code).toBe(status.UNAUTHENTICATED);
  });

  it("refuses an unknown edge with UNAUTHENTICATED", async () => {
    const l = link();
    l.hello("edge-nobody");
    expect((await l.closed)?.code).toBe(status.UNAUTHENTICATED);
  });

  it("refuses a stream whose first message is not a Hello with INVALID_ARGUMENT", async () => {
    const l = link();
    l.batch(1, [reading(1, "env-1", { temperature: 20 })]);
    expect((await l.closed)?.code).toBe(status.INVALID_ARGUMENT);
    expect(await readings("env-1")).toEqual([]);
  });

  it("welcomes a good edge with limits, credit and the measured clock offset; shows it online, then offline", async () => {
    const l = link();
    l.hello("edge-2", undefined, [{ deviceId: "shelf-9", deviceType: "smart-shelf" }]);
    const { welcome } = await l.next("welcome");
    expect(welcome).toMatchObject({ credit: 4, maxBatchReadings: 50, maxBatchBytes: 1024 * 1024 });
    expect(welcome.clockOffsetMs).toBeGreaterThanOrEqual(1500);
    expect(welcome.clockOffsetMs).toBeLessThan(5000);
    const edge = await waitFor(async () => {
      const body = (await (await t.api("/api/edges/edge-2", token)).json()) as { edge: { online: boolean; agentVersion: string } };
      return body.edge.online ? body.edge : undefined;
    });
    expect(edge.agentVersion).toBe("0.1.0-test");
    expect(await metric("bv_cloud_edges_connected")).toBe(1);
    const device = (await (await t.api("/api/devices/shelf-9", token)).json()) as { device: { siteId: string; online: boolean } };
    expect(device.device).toMatchObject({ siteId: "site-2", online: true });
    l.end();
    await l.closed;
    await waitFor(async () => {
      const body = (await (await t.api("/api/edges/edge-2", token)).json()) as { edge: { online: boolean } };
      return !body.edge.online;
    });
    expect(await metric("bv_cloud_edges_connected")).toBe(0);
  });

  it("lets a new stream from the same edge replace the old one", async () => {
    const first = link();
    first.hello("edge-2");
    await first.next("welcome");
    const second = link();
    second.hello("edge-2");
    await second.next("welcome");
    expect((await first.closed)?.code).toBe(status.ABORTED);
    second.batch(1, [reading(900, "env-9", { co2: 800 })]);
    expect((await second.next("ack")).ack.seqs).toEqual([900]);
    const body = (await (await t.api("/api/edges/edge-2", token)).json()) as { edge: { online: boolean } };
    expect(body.edge.online).toBe(true);
    second.end();
    await second.closed;
  });
});

describe("EdgeSync telemetry", () => {
  it("acks only after commit: the rows are readable when the Ack arrives, and a Credit follows", async () => {
    const l = link();
    l.hello();
    await l.next("welcome");
    l.batch(7, [reading(1, "env-1", { temperature: 21.5 }), reading(2, "env-1", { temperature: 22, humidity: 40 })]);
    const { ack } = await l.next("ack");
    const rows = await readings("env-1");
    expect(ack).toMatchObject({ batchId: 7, lane: 3, seqs: [1, 2], rejected: [] });
    expect(rows.map((r) => r.seq)).toEqual([1, 2]);
    expect((await l.next("credit")).credit.batches).toBe(1);
    const ackIndex = l.inbox.findIndex((m) => m.kind?.$case === "ack");
    expect(ackIndex).toBe(-1);
    l.end();
    await l.closed;
  });

  it("de-duplicates across reconnects and out of order, acking duplicates too", async () => {
    const storedBefore = await metric("bv_cloud_readings_stored_total");
    const dupBefore = await metric("bv_cloud_readings_duplicate_total");
    const a = link();
    a.hello();
    await a.next("welcome");
    a.batch(1, [reading(15, "env-2", { co2: 500 }), reading(13, "env-2", { co2: 501 }), reading(11, "env-2", { co2: 502 })]);
    expect((await a.next("ack")).ack.seqs).toEqual([15, 13, 11]);
    a.close();
    const b = link();
    b.hello();
    await b.next("welcome");
    const all = [16, 11, 12, 13, 14, 15].map((seq) => reading(seq, "env-2", { co2: 600 + seq }));
    b.batch(1, all, true);
    expect((await b.next("ack")).ack.seqs).toEqual([16, 11, 12, 13, 14, 15]);
    b.batch(2, all.slice(0, 2), true);
    expect((await b.next("ack")).ack.seqs).toEqual([16, 11]);
    const rows = await readings("env-2");
    expect(rows.map((r) => r.seq).sort((x, y) => x - y)).toEqual([11, 12, 13, 14, 15, 16]);
    // The first copy wins: seq 13 kept its original value.
    expect(rows.find((r) => r.seq === 13)?.values).toEqual({ co2: 501 });
    expect((await metric("bv_cloud_readings_stored_total")) - storedBefore).toBe(6);
    expect((await metric("bv_cloud_readings_duplicate_total")) - dupBefore).toBe(5);
    b.end();
    await b.closed;
  });

  it("rejects invalid readings with reasons and commits the valid ones", async () => {
    const l = link();
    l.hello();
    await l.next("welcome");
    l.batch(3, [
      reading(31, "env-3", { temperature: 20 }),
      reading(32, "env-3", { temperature: 500 }),
      reading(33, "env-3", { colour: 1 }),
      reading(34, "env-3", { temperature: 20 }, { deviceType: "toaster" }),
      reading(35, "bad/id", { temperature: 20 }),
      reading(36, "env-3", { co2: "lots" }),
      reading(37, "env-3", { humidity: 50 }),
    ]);
    const { ack } = await l.next("ack");
    expect(ack.seqs).toEqual([31, 37]);
    const reasons = Object.fromEntries(ack.rejected.map((r) => [r.seq, r.reason]));
    expect(Object.keys(reasons).map(Number)).toEqual([32, 33, 34, 35, 36]);
    expect(reasons[32]).toMatch(/temperature.*maximum/);
    expect(reasons[33]).toMatch(/unknown metric/);
    expect(reasons[34]).toMatch(/unknown device type/);
    expect(reasons[35]).toMatch(/invalid device id/);
    expect(reasons[36]).toMatch(/co2/);
    expect((await readings("env-3")).map((r) => r.seq)).toEqual([31, 37]);
    l.end();
    await l.closed;
  });

  it("ends a stream that sends a batch over the limits with RESOURCE_EXHAUSTED, acking nothing for it", async () => {
    const l = link();
    l.hello();
    await l.next("welcome");
    l.batch(1, [reading(50, "env-4", { co2: 400 })]);
    await l.next("ack");
    l.batch(
      2,
      Array.from({ length: 51 }, (_, i) => reading(100 + i, "env-4", { co2: 400 })),
    );
    expect((await l.closed)?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(l.inbox.some((m) => m.kind?.$case === "ack")).toBe(false);
    expect((await readings("env-4")).map((r) => r.seq)).toEqual([50]);
  });

  it("ends a stream that sends a batch over the byte limit with RESOURCE_EXHAUSTED, after acking the batch before it", async () => {
    const l = link();
    l.hello();
    await l.next("welcome");
    l.batch(1, [reading(70, "env-7", { co2: 400 })]);
    l.batch(
      2,
      Array.from({ length: 40 }, (_, i) => reading(71 + i, "env-7", { co2: 400 }, { deviceType: "x".repeat(30_000) })),
    );
    expect((await l.next("ack")).ack.batchId).toBe(1);
    expect((await l.closed)?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(l.inbox.some((m) => m.kind?.$case === "ack")).toBe(false);
    expect((await readings("env-7")).map((r) => r.seq)).toEqual([70]);
  });

  it("keeps the latest value per metric by timestamp when older readings are replayed later", async () => {
    const l = link();
    l.hello();
    await l.next("welcome");
    l.batch(1, [reading(60, "env-5", { temperature: 25 }, { edgeTimeMs: 1_750_000_100_000 })]);
    await l.next("ack");
    l.batch(2, [reading(59, "env-5", { temperature: 18 }, { edgeTimeMs: 1_750_000_050_000 })], true);
    await l.next("ack");
    const body = (await (await t.api("/api/devices/env-5", token)).json()) as { device: { latest: Record<string, unknown> } };
    expect(body.device.latest.temperature).toEqual({ value: 25, ts: 1_750_000_100_000 });
    l.end();
    await l.closed;
  });
});

describe("EdgeSync throughput", () => {
  it("advertises an HTTP/2 receive window that holds the whole credit window of largest batches", async () => {
    const session = connect(`http://${t.grpcAddress}`);
    try {
      const settings = await new Promise<{ initialWindowSize?: number }>((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
      });
      const window = flowControlWindow({ credit: 4, maxBatchReadings: 50, maxBatchBytes: 1024 * 1024 });
      expect(window).toBeGreaterThan(4 * 1024 * 1024);
      expect(settings.initialWindowSize).toBe(window);
      // The connection window is raised too (a WINDOW_UPDATE right after the SETTINGS).
      await waitFor(async () => (session.state.remoteWindowSize ?? 0) >= window);
    } finally {
      session.close();
    }
  });

  it("commits batches that arrive during a commit together, acking each one in order after its commit", async () => {
    const groupsBefore = await metric("bv_cloud_ingest_group_batches_count");
    const l = link();
    l.hello();
    await l.next("welcome");
    for (let b = 0; b < 4; b++)
      l.batch(
        40 + b,
        Array.from({ length: 50 }, (_, i) => reading(1000 + b * 50 + i, "env-6", { co2: 400 + i })),
      );
    // The last batch repeats seqs of the first: acked, stored once.
    l.batch(44, [reading(1000, "env-6", { co2: 999 }), reading(1200, "env-6", { co2: 401 })]);
    for (let b = 0; b < 5; b++) {
      const { ack } = await l.next("ack");
      expect(ack.batchId).toBe(40 + b);
      // Acked only after the commit: every reading of the batch is readable by then.
      const stored = new Set((await readings("env-6")).map((r) => r.seq));
      expect(ack.seqs.every((seq) => stored.has(seq))).toBe(true);
    }
    const rows = await readings("env-6");
    expect(rows).toHaveLength(201);
    expect(rows.find((r) => r.seq === 1000)?.values).toEqual({ co2: 400 });
    const series = (await (await t.api("/api/devices/env-6/series?metric=co2&resolution=1h", token)).json()) as {
      points: { count: number }[];
    };
    expect(series.points.reduce((n, p) => n + p.count, 0)).toBe(201);
    // Fewer transactions than batches: at least two of the five shared one.
    expect((await metric("bv_cloud_ingest_group_batches_count")) - groupsBefore).toBeLessThan(5);
    l.end();
    await l.closed;
  });
});

describe("commands over EdgeSync", () => {
  it("round-trips: POST → Command on the stream → CommandResults → status via GET", async () => {
    const l = link();
    l.hello("edge-1", undefined, [{ deviceId: "valve-1", deviceType: "valve-actuator" }]);
    await l.next("welcome");
    const res = await t.api("/api/devices/valve-1/commands", token, {
      method: "POST",
      body: JSON.stringify({ name: "set_position", params: { position: 40 }, ttl_s: 30 }),
    });
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: { id: string; status: string; requestedBy: string } };
    expect(command).toMatchObject({ status: "pending", requestedBy: "alice" });
    const sent = (await l.next("command")).command;
    expect(sent).toMatchObject({ commandId: command.id, deviceId: "valve-1", name: "set_position" });
    expect(JSON.parse(sent.paramsJson)).toEqual({ position: 40 });
    expect(sent.expiresAtMs).toBeGreaterThan(Date.now());
    const result = (s: CommandStatus, extra = {}) =>
      l.send({
        kind: {
          $case: "commandResult",
          commandResult: {
            commandId: command.id,
            deviceId: "valve-1",
            status: s,
            message: "",
            resultJson: "",
            timeMs: Date.now(),
            ...extra,
          },
        },
      });
    result(CommandStatus.COMMAND_STATUS_DELIVERED);
    const get = async () =>
      ((await (await t.api(`/api/commands/${command.id}`, token)).json()) as { command: Record<string, unknown> }).command;
    await waitFor(async () => (await get()).status === "delivered");
    result(CommandStatus.COMMAND_STATUS_SUCCEEDED, { message: "moved", resultJson: '{"position":40}' });
    await waitFor(async () => (await get()).status === "succeeded");
    // A late DELIVERED must not move it backwards.
    result(CommandStatus.COMMAND_STATUS_DELIVERED);
    await new Promise((r) => setTimeout(r, 100));
    expect(await get()).toMatchObject({ status: "succeeded", message: "moved", result: { position: 40 } });
    const list = (await (await t.api("/api/devices/valve-1/commands", token)).json()) as { commands: { id: string }[] };
    expect(list.commands.map((c) => c.id)).toContain(command.id);
    l.end();
    await l.closed;
  });

  it("sends a command created while the edge was offline when it connects", async () => {
    await waitFor(async () => {
      const body = (await (await t.api("/api/edges/edge-1", token)).json()) as { edge: { online: boolean } };
      return !body.edge.online;
    });
    const res = await t.api("/api/devices/valve-1/commands", token, { method: "POST", body: JSON.stringify({ name: "open", params: {} }) });
    expect(res.status).toBe(202);
    const { command } = (await res.json()) as { command: { id: string } };
    const l = link();
    l.hello();
    await l.next("welcome");
    expect((await l.next("command")).command.commandId).toBe(command.id);
    l.end();
    await l.closed;
  });
});
