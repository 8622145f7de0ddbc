/**
 * What the link stores besides readings, over a real gRPC stream and the real REST API: gap
 * records and dead letters (control lane, stored once, acknowledged by id), poison readings, and
 * readings of an unsynchronised edge clock re-stamped from the boot's anchor.
 */
import { ClockSync, type EdgeMessage, Lane } from "@bitvelocity/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

let t: TestCloud;
let token: string;
const links: EdgeLink[] = [];

async function open(patch: Parameters<EdgeLink["hello"]>[3] = {}): Promise<EdgeLink> {
  const l = new EdgeLink(t.grpcAddress);
  links.push(l);
  l.hello("edge-1", undefined, [], patch);
  await l.next("welcome");
  return l;
}

const gapMessage = (controlId: number, firstSeq: number, lastSeq: number): EdgeMessage => ({
  kind: {
    $case: "gap",
    gap: {
      lane: Lane.LANE_TELEMETRY,
      firstSeq,
      lastSeq,
      count: lastSeq - firstSeq + 1,
      fromTimeMs: 1000,
      toTimeMs: 2000,
      reason: "budget",
    },
  },
  controlId,
});

beforeAll(async () => {
  t = await startTestCloud();
  token = await t.login("alice");
});

afterAll(async () => {
  for (const l of links) l.close();
  await t.close();
});

describe("gap records", () => {
  it("stores a gap once however often the edge resends it, acknowledging each copy by its control id", async () => {
    const l = await open();
    l.send(gapMessage(7, 100, 199));
    expect((await l.next("ack")).ack).toMatchObject({ lane: Lane.LANE_CONTROL, seqs: [7] });
    // After a reconnect the edge sends it again (its ack may have been lost).
    const again = await open();
    again.send(gapMessage(7, 100, 199));
    expect((await again.next("ack")).ack.seqs).toEqual([7]);
    const res = await t.api("/api/edges/edge-1/gaps", token);
    expect(res.status).toBe(200);
    const { gaps } = (await res.json()) as { gaps: unknown[] };
    expect(gaps).toEqual([
      expect.objectContaining({ edgeId: "edge-1", lane: "telemetry", firstSeq: 100, lastSeq: 199, count: 100, reason: "budget" }),
    ]);
  });

  it("answers 404 for an unknown edge and 400 for a bad limit", async () => {
    expect((await t.api("/api/edges/nobody/gaps", token)).status).toBe(404);
    expect((await t.api("/api/edges/edge-1/dead-letters?limit=0", token)).status).toBe(400);
    expect((await t.api("/api/edges/edge-1/gaps?limit=abc", token)).status).toBe(400);
    expect((await t.api("/api/edges/edge-1/gaps", undefined)).status).toBe(401);
  });
});

describe("dead letters", () => {
  it("stores the edge's dead letters with a bounded preview of the payload", async () => {
    const l = await open();
    const payload = Buffer.from(`{"values":{"temperature":"hot"},"pad":"${"x".repeat(2000)}"}`);
    l.send({
      kind: {
        $case: "deadLetter",
        deadLetter: {
          deviceId: "env-1",
          topic: "bv/env-1/telemetry",
          payload,
          reason: "temperature: expected a number",
          timeMs: 5,
          seq: 0,
          deviceType: "",
        },
      },
      controlId: 31,
    });
    expect((await l.next("ack")).ack.seqs).toEqual([31]);
    const { deadLetters } = (await (await t.api("/api/edges/edge-1/dead-letters", token)).json()) as {
      deadLetters: { source: string; reason: string; payloadPreview: string; topic: string }[];
    };
    const letter = deadLetters.find((d) => d.source === "edge");
    expect(letter).toMatchObject({ reason: "temperature: expected a number", topic: "bv/env-1/telemetry" });
    expect(letter!.payloadPreview.length).toBeLessThanOrEqual(513);
  });

  it("stores a poison reading the cloud refuses, and the rest of the batch still commits", async () => {
    const l = await open();
    l.batch(1, [
      reading(5001, "env-1", { temperature: 20 }),
      reading(5002, "env-1", { temperature: "hot" }),
      reading(5003, "env-1", { temperature: 21 }),
    ]);
    const { ack } = await l.next("ack");
    expect(ack.seqs).toEqual([5001, 5003]);
    expect(ack.rejected.map((r) => r.seq)).toEqual([5002]);
    const { deadLetters } = (await (await t.api("/api/edges/edge-1/dead-letters", token)).json()) as {
      deadLetters: { source: string; seq: number | null; reason: string; payloadPreview: string }[];
    };
    const letter = deadLetters.find((d) => d.source === "cloud" && d.seq === 5002);
    expect(letter?.reason).toMatch(/temperature/);
    expect(letter?.payloadPreview).toContain("hot");
  });
});

describe("clock trust", () => {
  it("re-stamps readings of an unsynchronised clock from the boot's anchor and uptime; keeps synced ones", async () => {
    // The edge booted 1 h ago (uptime 3.6e6 ms), its wall clock still says 1970.
    const uptimeMs = 3_600_000;
    const before = Date.now();
    const l = await open({ bootId: "boot-rtc-less", uptimeMs, wallTimeMs: uptimeMs, clockSync: ClockSync.CLOCK_SYNC_UNSYNCED });
    const anchor = before - uptimeMs;
    const tenMinutesAfterBoot = 600_000;
    l.batch(1, [
      reading(
        7001,
        "env-7",
        { temperature: 20 },
        { bootId: "boot-rtc-less", clockSynced: false, edgeTimeMs: 600_000, uptimeMs: tenMinutesAfterBoot },
      ),
      // A boot the cloud never saw: the receive time is the best estimate.
      reading(7002, "env-7", { temperature: 21 }, { bootId: "boot-unknown", clockSynced: false, edgeTimeMs: 700_000, uptimeMs: 5 }),
    ]);
    expect((await l.next("ack")).ack.seqs).toEqual([7001, 7002]);
    const rows = await waitFor(async () => {
      const body = (await (await t.api("/api/devices/env-7/readings?from=0", token)).json()) as {
        readings: { seq: number; ts: number; edgeTimeMs: number; receivedAt: number }[];
      };
      return body.readings.length === 2 ? body.readings : undefined;
    });
    const restamped = rows.find((r) => r.seq === 7001)!;
    expect(Math.abs(restamped.edgeTimeMs - (anchor + tenMinutesAfterBoot))).toBeLessThan(2000);
    const unknown = rows.find((r) => r.seq === 7002)!;
    expect(Math.abs(unknown.edgeTimeMs - unknown.receivedAt)).toBeLessThan(1000);
  });
});

describe("edge credentials", () => {
  it("rotating a token ends the edge's stream; the old token is refused, the new one works; only admins may", async () => {
    const admin = await t.login("admin");
    const l = await open();
    expect((await t.api("/api/edges/edge-1/token", token, { method: "POST" })).status).toBe(403);
    expect((await t.api("/api/edges/nobody/token", admin, { method: "POST" })).status).toBe(404);
    const res = await t.api("/api/edges/edge-1/token", admin, { method: "POST" });
    expect(res.status).toBe(201);
    const { token: fresh } = (await res.json()) as { token: string };
    expect((await l.closed)?.code).toBe(status.UNAUTHENTICATED);
    const old = new EdgeLink(t.grpcAddress);
    links.push(old);
    old.hello("edge-1");
    expect((await old.closed)?.code).toBe(status.UNAUTHENTICATED);
    const renewed = new EdgeLink(t.grpcAddress);
    links.push(renewed);
    renewed.hello("edge-1", fresh);
    await renewed.next("welcome");
    renewed.close();
  });

  it("revoking ends the stream and refuses the edge from then on with PERMISSION_DENIED", async () => {
    const admin = await t.login("admin");
    const l = new EdgeLink(t.grpcAddress);
    links.push(l);
    l.hello("edge-2");
    await l.next("welcome");
    expect((await t.api("/api/edges/edge-2/revoke", admin, { method: "POST" })).status).toBe(204);
    expect((await l.closed)?.code).toBe(status.PERMISSION_DENIED);
    const again = new EdgeLink(t.grpcAddress);
    links.push(again);
    again.hello("edge-2");
    expect((await again.closed)?.code).toBe(status.PERMISSION_DENIED);
  });
});
