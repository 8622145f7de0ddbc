import { Lane } from "@bitvelocity/proto";
import { afterEach, describe, expect, it } from "vitest";
import { TestCloud, waitFor } from "./test-cloud.js";
import { capturingLogger, type Rig, startRig, TOKEN } from "./test-setup.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe("gRPC link: telemetry", () => {
  it("delivers every reading, deletes each only after its Ack, and counts it", async () => {
    rig = await startRig({ credit: 2 }, { max_batch_readings: 7 });
    const r = rig;
    await waitFor(() => r.link.connected(), 5_000, "connected");
    const seqs = await r.append(50);
    await waitFor(() => seqs.every((s) => r.cloud.committed.has(s)) && r.outbox.stats().readings === 0, 5_000, "all acked");
    expect(r.cloud.batches.every((b) => b.readings.length <= 7 && b.lane === Lane.LANE_TELEMETRY)).toBe(true);
    expect(r.outbox.peek({ limit: 100, maxBytes: 1e9 })).toEqual([]);
    expect(await r.metric("bv_edge_uplink_readings_acked_total")).toBe(50);
    expect(await r.metric("bv_edge_uplink_batches_sent_total")).toBe(r.cloud.batches.length);
    expect(await r.metric("bv_edge_uplink_connected")).toBe(1);
    const hello = r.cloud.hellos[0]!;
    expect(hello).toMatchObject({ edgeId: "edge-1", siteId: "site-1", bootId: "boot-1", token: TOKEN, agentVersion: "0.0.0-test" });
    expect(hello.devices.map((d) => d.deviceId).sort()).toEqual(["env-1", "valve-1"]);
    const first = r.cloud.batches[0]!.readings[0]!;
    expect(first).toMatchObject({ seq: seqs[0], deviceId: "env-1", deviceType: "env-sensor", bootId: "boot-1" });
    expect(first.values.temperature?.kind).toEqual({ $case: "number", number: 0 });
  });

  it("keeps readings in the outbox until the cloud acks them", async () => {
    rig = await startRig({ holdAcks: true, credit: 4 });
    const r = rig;
    await waitFor(() => r.link.connected());
    const seqs = await r.append(10);
    await waitFor(() => r.cloud.batches.reduce((n, b) => n + b.readings.length, 0) >= 10, 5_000, "batches received");
    await new Promise((res) => setTimeout(res, 200));
    expect(r.outbox.stats().readings).toBe(10);
    expect(r.outbox.peek({ limit: 100, maxBytes: 1e9 }).map((x) => x.seq)).toEqual(seqs);
    // Nothing is sent twice while it is in flight.
    expect(r.cloud.batches.flatMap((b) => b.readings.map((x) => x.seq))).toEqual(seqs);
    r.cloud.releaseAcks();
    await waitFor(() => r.outbox.stats().readings === 0, 5_000, "deleted after ack");
  });

  it("never has more batches in flight than the credit window", async () => {
    rig = await startRig({ credit: 1, ackDelayMs: 30 }, { max_batch_readings: 3 });
    const r = rig;
    await waitFor(() => r.link.connected());
    const seqs = await r.append(30);
    await waitFor(() => seqs.every((s) => r.cloud.committed.has(s)), 8_000, "all committed");
    expect(r.cloud.batches.length).toBeGreaterThanOrEqual(10);
    expect(r.cloud.maxInFlight).toBe(1);
  });

  it("reconnects after the cloud restarts and loses nothing", async () => {
    rig = await startRig({ ackDelayMs: 20, credit: 2 }, { max_batch_readings: 5 });
    const r = rig;
    await waitFor(() => r.link.connected());
    const before = await r.append(40);
    await waitFor(() => r.cloud.batches.length >= 2, 5_000, "some batches");
    const port = r.cloud.port;
    await r.cloud.stop();
    await waitFor(() => !r.link.connected(), 5_000, "link down");
    const during = await r.append(20);
    expect(await r.metric("bv_edge_uplink_connected")).toBe(0);
    const committedBefore = r.cloud.committed;
    r.cloud = await TestCloud.start({ token: TOKEN, port, ackDelayMs: 5, credit: 2 });
    await waitFor(() => r.link.connected(), 5_000, "reconnected");
    const after = await r.append(10);
    const all = [...before, ...during, ...after];
    await waitFor(() => r.outbox.stats().readings === 0, 8_000, "drained");
    const everything = new Set([...committedBefore, ...r.cloud.committed]);
    expect(all.filter((s) => !everything.has(s))).toEqual([]);
    expect(await r.metric("bv_edge_uplink_reconnects_total")).toBeGreaterThanOrEqual(1);
    expect(r.cloud.hellos).toHaveLength(1);
  });

  it("live first: after an outage new readings flow at once while the backlog drains, flagged as replay; alarms go first", async () => {
    rig = await startRig({ credit: 4 }, { max_batch_readings: 100, backlog_batch_readings: 100 });
    const r = rig;
    await waitFor(() => r.link.connected());
    const port = r.cloud.port;
    await r.cloud.stop();
    await waitFor(() => !r.link.connected(), 5_000, "link down");
    const backlog = [...(await r.append(3000)), ...(await r.append(3000))];
    const alarm = await Promise.all(
      [1, 2, 3].map((i) =>
        r.outbox.append({ deviceId: "env-1", deviceType: "env-sensor", values: { temperature: 90 + i }, lane: "alarm" }),
      ),
    );
    // A slow cloud: each batch takes 15 ms to commit, so the backlog needs about a second.
    r.cloud = await TestCloud.start({ token: TOKEN, port, ackDelayMs: 15, credit: 4 });
    await waitFor(() => r.link.connected(), 5_000, "reconnected");
    const live: { seq: number; at: number }[] = [];
    for (let i = 0; i < 20; i++) {
      const [seq] = await r.append(1);
      live.push({ seq: seq!, at: Date.now() });
      await new Promise((res) => setTimeout(res, 20));
    }
    await waitFor(() => r.outbox.stats().readings === 0, 15_000, "drained");
    const arrival = (seq: number) => r.cloud.arrivals.get(seq)!;
    // Alarms before any backlog telemetry.
    const firstBacklog = Math.min(...backlog.map((s) => arrival(s).at));
    expect(alarm.every((s) => arrival(s).at <= firstBacklog && arrival(s).lane === Lane.LANE_ALARM)).toBe(true);
    // Every live reading arrived while the backlog was still draining, quickly, and not flagged as replay.
    const lastBacklog = Math.max(...backlog.map((s) => arrival(s).at));
    const latencies = live.map((l) => arrival(l.seq).at - l.at);
    expect(live.every((l) => arrival(l.seq).replay === false)).toBe(true);
    expect(live.filter((l) => arrival(l.seq).at < lastBacklog).length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(500);
    expect(backlog.every((s) => arrival(s).replay)).toBe(true);
    expect(await r.metric("bv_edge_uplink_batches_sent_total", { stream: "backlog" })).toBeGreaterThanOrEqual(60);
  });

  it("sends the backlog in backlog-sized batches and live readings in live-sized ones, both within the cloud's limits", async () => {
    rig = await startRig({ credit: 4, maxBatchReadings: 300 }, { max_batch_readings: 50, backlog_batch_readings: 1000 });
    const r = rig;
    await waitFor(() => r.link.connected());
    const port = r.cloud.port;
    await r.cloud.stop();
    await waitFor(() => !r.link.connected(), 5_000, "link down");
    const backlog = await r.append(1500);
    r.cloud = await TestCloud.start({ token: TOKEN, port, credit: 4, maxBatchReadings: 300 });
    await waitFor(() => r.link.connected(), 5_000, "reconnected");
    const live = await r.append(400);
    await waitFor(() => r.outbox.stats().readings === 0, 15_000, "drained");
    const sizes = (replay: boolean) => r.cloud.batches.filter((b) => b.replay === replay).map((b) => b.readings.length);
    // The backlog: the cloud's 300 binds (the edge's own bound is 1,000); live: the edge's 50.
    expect(sizes(true).reduce((a, b) => a + b, 0)).toBe(backlog.length);
    expect(Math.max(...sizes(true))).toBe(300);
    expect(sizes(false).reduce((a, b) => a + b, 0)).toBe(live.length);
    expect(Math.max(...sizes(false))).toBeLessThanOrEqual(50);
    expect(new Set([...backlog, ...live].filter((s) => r.cloud.committed.has(s))).size).toBe(1900);
  });

  it("does not retry fast when the token is refused, logs it once, keeps trying, and never logs the token", async () => {
    const { logger, lines } = capturingLogger();
    rig = await startRig({ token: "another-token" }, { backoff_initial_ms: 10, backoff_max_ms: 600 }, logger);
    const r = rig;
    await r.append(3);
    await new Promise((res) => setTimeout(res, 2_500));
    // At the maximum backoff every retry waits 300–600 ms; the normal backoff would start at 5–10 ms.
    const times = r.cloud.attemptTimes;
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.length).toBeLessThanOrEqual(9);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(280);
    expect(r.link.connected()).toBe(false);
    expect(r.outbox.stats().readings).toBe(3);
    expect(r.cloud.batches).toHaveLength(0);
    const alarms = lines.filter((l) => l.includes("edge token refused"));
    expect(alarms).toHaveLength(1);
    expect(JSON.parse(alarms[0]!).level).toBe(50);
    expect(lines.join("\n")).not.toContain(TOKEN);
    expect(lines.join("\n")).not.toContain("another-token");
  });

  it("does not delete readings on an Ack for an unknown batch or for seqs it did not send", async () => {
    rig = await startRig({ holdAcks: true, credit: 4 }, { max_batch_readings: 2 });
    const r = rig;
    await waitFor(() => r.link.connected());
    const seqs = await r.append(4);
    await waitFor(() => r.cloud.batches.length === 2, 5_000, "batches");
    const batchId = r.cloud.batches[0]!.batchId;
    r.cloud.send({ kind: { $case: "ack", ack: { batchId: batchId + 1000, lane: Lane.LANE_TELEMETRY, seqs, rejected: [] } } });
    r.cloud.send({ kind: { $case: "credit", credit: { batches: 0 } } });
    r.cloud.send({ kind: undefined });
    r.cloud.send({ kind: { $case: "configUpdate", configUpdate: { version: 2, yaml: "::: not yaml" } } });
    await new Promise((res) => setTimeout(res, 200));
    expect(r.outbox.stats().readings).toBe(4);
    // An Ack for the first batch that claims every seq deletes only that batch's two readings.
    r.cloud.send({ kind: { $case: "ack", ack: { batchId, lane: Lane.LANE_TELEMETRY, seqs, rejected: [{ seq: seqs[3]!, reason: "x" }] } } });
    await waitFor(() => r.outbox.stats().readings === 2, 2_000, "first batch deleted");
    expect(r.outbox.peek({ limit: 10, maxBytes: 1e9 }).map((x) => x.seq)).toEqual(seqs.slice(2));
    expect(r.outbox.stats().deadLetters).toBe(0);
    expect(r.link.connected()).toBe(true);
    r.cloud.releaseAcks();
    await waitFor(() => r.outbox.stats().readings === 0, 5_000, "deleted after the real ack");
  });

  it("sends a partial live batch only when no other live batch is in flight (fuller batches under load)", async () => {
    rig = await startRig({ holdAcks: true, credit: 4 }, { max_batch_readings: 10 });
    const r = rig;
    await waitFor(() => r.link.connected());
    await r.append(3);
    await waitFor(() => r.cloud.batches.length === 1, 5_000, "first batch");
    await r.append(3);
    await r.append(4);
    await new Promise((res) => setTimeout(res, 200));
    // The window has room, but the partial batch waits for the first one's ack.
    expect(r.cloud.batches).toHaveLength(1);
    r.cloud.releaseAcks();
    await waitFor(() => r.cloud.batches.length === 2, 5_000, "second batch");
    expect(r.cloud.batches[1]!.readings).toHaveLength(7);
    r.cloud.releaseAcks();
    await waitFor(() => r.outbox.stats().readings === 0, 5_000, "drained");
  });

  it("dead-letters readings the cloud rejects and acks the rest", async () => {
    rig = await startRig({ rejectSeq: (seq) => (seq % 4 === 0 ? "value out of range" : undefined) });
    const r = rig;
    await waitFor(() => r.link.connected());
    const seqs = await r.append(12);
    await waitFor(() => r.outbox.stats().readings === 0, 5_000, "drained");
    const rejected = seqs.filter((s) => s % 4 === 0);
    expect(r.outbox.stats().deadLetters).toBe(rejected.length);
    expect(await r.metric("bv_edge_uplink_readings_acked_total")).toBe(12 - rejected.length);
    expect(await r.metric("bv_edge_uplink_readings_rejected_total")).toBe(rejected.length);
  });

  it("reports EdgeStatus with outbox depth, devices and drain rate, and forwards presence", async () => {
    rig = await startRig({ holdAcks: true });
    const r = rig;
    await waitFor(() => r.link.connected());
    await r.append(5);
    await waitFor(() => r.cloud.statuses.some((s) => s.outboxReadings === 5), 3_000, "status with depth");
    const status = r.cloud.statuses.find((s) => s.outboxReadings === 5)!;
    expect(status).toMatchObject({ devicesConnected: 1, agentVersion: "0.0.0-test", drainRate: 0, etaSeconds: 0 });
    r.cloud.releaseAcks();
    await waitFor(() => r.cloud.statuses.some((s) => s.drainRate > 0 && s.outboxReadings === 0), 3_000, "status with drain rate");
    expect(await r.metric("bv_edge_drain_readings_per_second")).toBeGreaterThan(0);
    r.gateway.setPresence({ deviceId: "valve-1", online: true, timeMs: 1234, reason: "connected" });
    await waitFor(() => r.cloud.presences.length === 1, 3_000, "presence");
    expect(r.cloud.presences[0]).toEqual({ deviceId: "valve-1", online: true, timeMs: 1234, reason: "connected" });
  });
});
