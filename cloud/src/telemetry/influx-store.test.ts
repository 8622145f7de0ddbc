import { randomUUID } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { victoriaMetrics } from "@bitvelocity/common/test-services";
import { afterAll, describe, expect, it } from "vitest";
import { InfluxTelemetryStore } from "./influx-store.js";
import { telemetryStoreContract } from "./telemetry-store.contract.js";

const vm = await victoriaMetrics();
const skip = vm.available ? "" : ` (skipped: ${vm.reason})`;
const url = vm.available ? vm.url : "";
// Every store gets its own scope tag: the tests share one VictoriaMetrics.
/**
 * A proxy in front of VictoriaMetrics that records the Content-Encoding of each line-protocol
 * write and the most writes it saw in flight at once; `holdMs` holds each write that long before
 * passing it on (a slow link).
 */
async function writeProxy(holdMs = 0) {
  const encodings: string[] = [];
  const flight = { now: 0, most: 0 };
  const target = new URL(url);
  const proxy = createServer((req, res) => {
    const write = req.url?.startsWith("/api/v2/write") === true;
    if (write) {
      encodings.push(req.headers["content-encoding"] ?? "identity");
      flight.most = Math.max(flight.most, ++flight.now);
      res.on("finish", () => flight.now--);
    }
    setTimeout(
      () => {
        const upstream = request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        req.pipe(upstream);
      },
      write ? holdMs : 0,
    );
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, encodings, flight, close: () => proxy.close() };
}

const open = (extra: Partial<ConstructorParameters<typeof InfluxTelemetryStore>[0]> = {}) =>
  new InfluxTelemetryStore({ url, org: "bv", bucket: "telemetry", scope: randomUUID(), ...extra });

afterAll(async () => {
  if (vm.available) await vm.stop();
});

describe.skipIf(!vm.available)(`line-protocol store${skip}`, () => {
  telemetryStoreContract("influx line protocol on VictoriaMetrics", {
    open: async () => open(),
    keepsSameTimestampReadings: false,
    recognisesRewrites: false,
  });

  it("refuses with a transient code, and accepts nothing, when the engine is unreachable", async () => {
    const store = open({ url: "http://127.0.0.1:9", maxRetries: 0, timeoutMs: 1000 });
    const r = { seq: 1, deviceId: "d", deviceType: "env-sensor", values: { co2: 1 }, edgeTimeMs: 1_700_000_000_000 };
    await expect(store.commitBatch("e", [r])).rejects.toMatchObject({ code: "TELEMETRY_WRITE_FAILED", kind: "transient" });
    expect(await store.check()).toBe(false);
    await store.close();
  });

  it("applies back-pressure: commits beyond maxPending fail with TELEMETRY_BUSY", async () => {
    const store = open({ maxPending: 2 });
    const r = (seq: number) => ({
      seq,
      deviceId: "d",
      deviceType: "env-sensor",
      values: { co2: seq },
      edgeTimeMs: 1_700_000_000_000 + seq,
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((seq) => store.commitBatch("e", [r(seq)])));
    expect(results.map((x) => x.status)).toEqual(["fulfilled", "fulfilled", "rejected", "rejected"]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: "TELEMETRY_BUSY" });
    expect((await store.readings("d", {})).map((x) => x.seq)).toEqual([1, 2]);
    await store.close();
  });

  it("writes the commits waiting behind a running write in one request, each with its own result", async () => {
    const proxy = await writeProxy();
    try {
      const scope = randomUUID();
      const store = open({ scope, url: proxy.url, queryUrl: url });
      const batch = (edge: number, seqs: number[]) =>
        seqs.map((seq) => ({
          seq,
          deviceId: `g-${edge}`,
          deviceType: "env-sensor",
          values: { co2: edge * 100 + seq },
          edgeTimeMs: 1_700_000_000_000 + seq * 1000,
        }));
      // Eight edges commit at once; edge 8's batch repeats a seq (a duplicate within the group).
      const results = await Promise.all(
        [1, 2, 3, 4, 5, 6, 7, 8].map((edge) => store.commitBatch(`edge-${edge}`, batch(edge, edge === 8 ? [1, 2, 2] : [1, 2]))),
      );
      // The first two commits alone (two writes in flight), then the six that waited.
      expect(proxy.encodings.length).toBeLessThanOrEqual(3);
      expect(results.slice(0, 7).every((r) => r.inserted === 2 && r.duplicates === 0)).toBe(true);
      expect(results[7]).toEqual({ inserted: 2, duplicates: 1, insertedSeqs: [1, 2] });
      for (const edge of [1, 8])
        expect((await store.readings(`g-${edge}`, {})).map((r) => r.values.co2)).toEqual([edge * 100 + 1, edge * 100 + 2]);
      await store.close();
    } finally {
      proxy.close();
    }
  });

  it("keeps two writes in flight at most, and reports a replay racing its original write as duplicates", async () => {
    const proxy = await writeProxy(150);
    try {
      const store = open({ url: proxy.url, queryUrl: url });
      const batch = (edge: number) => [
        { seq: 1, deviceId: `w-${edge}`, deviceType: "env-sensor", values: { co2: edge }, edgeTimeMs: 1_700_000_000_000 },
      ];
      // The first two commits go at once; the replay of edge 1's batch waits for its original write.
      const first = store.commitBatch("edge-1", batch(1));
      const second = store.commitBatch("edge-2", batch(2));
      const replay = store.commitBatch("edge-1", batch(1));
      const rest = [3, 4, 5, 6].map((edge) => store.commitBatch(`edge-${edge}`, batch(edge)));
      const results = await Promise.all([first, second, replay, ...rest]);
      expect(proxy.flight.most).toBe(2);
      expect(results.map((r) => r.inserted)).toEqual([1, 1, 0, 1, 1, 1, 1]);
      expect(results[2]).toEqual({ inserted: 0, duplicates: 1, insertedSeqs: [] });
      for (const edge of [1, 2, 6]) expect((await store.readings(`w-${edge}`, {})).map((r) => r.values.co2)).toEqual([edge]);
      // One at a time when asked.
      const serial = open({ url: proxy.url, queryUrl: url, writesAtOnce: 1 });
      proxy.flight.most = 0;
      await Promise.all([7, 8, 9].map((edge) => serial.commitBatch(`edge-${edge}`, batch(edge))));
      expect(proxy.flight.most).toBe(1);
      await Promise.all([store.close(), serial.close()]);
    } finally {
      proxy.close();
    }
  });

  it("writes uncompressed bodies unless gzip is on, and stores the readings either way", async () => {
    const proxy = await writeProxy();
    try {
      const readings = Array.from({ length: 50 }, (_, i) => ({
        seq: i + 1,
        deviceId: "z",
        deviceType: "env-sensor",
        values: { co2: 400 + i },
        edgeTimeMs: 1_700_000_000_000 + i * 1000,
      }));
      for (const gzip of [false, true]) {
        const store = open({ url: proxy.url, queryUrl: url, gzip });
        expect((await store.commitBatch("e", readings)).inserted).toBe(50);
        expect(await store.readings("z", {})).toHaveLength(50);
        await store.close();
      }
      expect(proxy.encodings).toEqual(["identity", "gzip"]);
    } finally {
      proxy.close();
    }
  });

  it("commits without reading the engine first, and a rewrite leaves one copy with exact rollups", async () => {
    const scope = randomUUID();
    // Queries would go to a closed port: a commit that asked the engine first would fail.
    const writer = open({ scope, queryUrl: "http://127.0.0.1:9", forceFlush: false, timeoutMs: 1000 });
    const batch = Array.from({ length: 20 }, (_, i) => ({
      seq: i + 1,
      deviceId: "d",
      deviceType: "env-sensor",
      values: { co2: i, on: i % 2 === 0, mode: i % 3 === 0 ? "auto" : "manual" },
      edgeTimeMs: 1_700_000_000_000 + i * 1000,
    }));
    expect((await writer.commitBatch("e", batch)).inserted).toBe(20);
    // The same writer remembers what it wrote lately; a second one rewrites all of it.
    expect((await writer.commitBatch("e", batch)).duplicates).toBe(20);
    const second = open({ scope, queryUrl: "http://127.0.0.1:9", forceFlush: false, timeoutMs: 1000 });
    expect((await second.commitBatch("e", batch)).inserted).toBe(20);
    await second.close();
    await writer.close();
    const reader = open({ scope });
    // A commit with force_flush makes everything written so far visible to queries.
    await reader.commitBatch("other", [
      { seq: 1, deviceId: "z", deviceType: "env-sensor", values: { co2: 1 }, edgeTimeMs: 1_700_000_000_000 },
    ]);
    const rows = await reader.readings("d", {});
    expect(rows.map((x) => x.seq)).toEqual(batch.map((x) => x.seq));
    expect(rows.map((x) => x.values)).toEqual(batch.map((x) => x.values));
    const [hour] = await reader.series("d", "co2", { resolution: "1h" });
    expect(hour).toMatchObject({ count: 20, min: 0, max: 19 });
    await reader.close();
  });

  it("two writers committing the same readings concurrently leave one copy of each", async () => {
    const scope = randomUUID();
    const a = open({ scope });
    const b = open({ scope });
    const batch = Array.from({ length: 50 }, (_, i) => ({
      seq: i + 1,
      deviceId: "d",
      deviceType: "env-sensor",
      values: { co2: i },
      edgeTimeMs: 1_700_000_000_000 + i * 10,
    }));
    await Promise.all([a.commitBatch("e", batch), b.commitBatch("e", batch)]);
    const rows = await a.readings("d", {});
    expect(rows.map((x) => x.seq)).toEqual(batch.map((x) => x.seq));
    expect((await a.series("d", "co2", { resolution: "1h" })).reduce((n, p) => n + p.count, 0)).toBe(50);
    await a.close();
    await b.close();
  });
});
