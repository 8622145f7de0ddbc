import { Point } from "@influxdata/influxdb-client";
import { describe, expect, it } from "vitest";
import { toLines } from "./influx-codec.js";

/** The client's own encoding of the same reading, to check the hand-built lines against. */
function viaPoint(edgeId: string, scope: string, r: Parameters<typeof toLines>[1], receivedAt: number): string[] {
  const ts = r.deviceTimeMs ?? r.edgeTimeMs;
  const main = new Point("bv")
    .tag("device_id", r.deviceId)
    .tag("device_type", r.deviceType)
    .tag("edge_id", edgeId)
    .floatField("seq", r.seq)
    .floatField("edge_time_ms", r.edgeTimeMs)
    .floatField("received_at", receivedAt)
    .timestamp(ts);
  if (r.deviceTimeMs !== undefined) main.floatField("device_time_ms", r.deviceTimeMs);
  const points = [main];
  for (const [metric, value] of Object.entries(r.values)) {
    if (typeof value === "number") main.floatField(`n_${metric}`, value);
    else if (typeof value === "boolean") main.booleanField(`b_${metric}`, value);
    else
      points.push(
        new Point("bv_text")
          .tag("device_id", r.deviceId)
          .tag("device_type", r.deviceType)
          .tag("edge_id", edgeId)
          .tag("metric", metric)
          .tag("value", value)
          .floatField("seq", r.seq)
          .timestamp(ts),
      );
  }
  return points.map((p) => p.toLineProtocol({ defaultTags: { scope }, convertTime: (t) => String(t) }) ?? "");
}

/** Field order carries no meaning in line protocol: compare lines with their fields sorted. */
const canonical = (line: string) => {
  const [series, fields, ts] = line.split(/(?<!\\) /);
  return `${series} ${(fields ?? "")
    .split(/(?<!\\),/)
    .sort()
    .join(",")} ${ts}`;
};

describe("toLines", () => {
  it("writes the same points as the client's Point, escaping what line protocol requires", () => {
    const reading = {
      seq: 42,
      deviceId: "env 1,a=b",
      deviceType: "env-sensor",
      values: { temperature: 21.5, co2: 612, door: true, mode: "auto, fast", "odd key": -1e-7 },
      deviceTimeMs: 1_700_000_000_123,
      edgeTimeMs: 1_700_000_000_456,
    };
    const ours = toLines("edge=1", reading, 1_700_000_001_000, "tenant 7");
    expect(ours.map(canonical)).toEqual(viaPoint("edge=1", "tenant 7", reading, 1_700_000_001_000).map(canonical));
    expect(ours[0]).toMatch(/^bv,device_id=env\\ 1\\,a\\=b,device_type=env-sensor,edge_id=edge\\=1,scope=tenant\\ 7 /);
  });

  it("omits the scope tag when there is none, and non-finite numbers", () => {
    const [line] = toLines("e", { seq: 1, deviceId: "d", deviceType: "t", values: { x: Number.NaN, y: 2 }, edgeTimeMs: 5 }, 6);
    expect(line).toBe("bv,device_id=d,device_type=t,edge_id=e edge_time_ms=5,received_at=6,seq=1,n_y=2 5");
  });
});
