import { BvError } from "@bitvelocity/common";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { NewReading } from "../outbox/types.js";
import { filteredSink, ReportFilter } from "./filter.js";
import { type DeviceReport, deviceReportSchema } from "./report-schema.js";

const reading = (values: NewReading["values"], deviceId = "m1"): NewReading => ({ deviceId, deviceType: "power-meter", values });

function rig(report: unknown) {
  let now = 0;
  const registry = new Registry();
  const policies = new Map<string, DeviceReport>([["m1", deviceReportSchema.parse(report)]]);
  const filter = new ReportFilter(policies, registry, () => now);
  const step = (ms: number, values: NewReading["values"]) => {
    now += ms;
    return filter.apply(reading(values))?.values;
  };
  const suppressed = async (strategy: string) =>
    (await registry.getSingleMetric("bv_edge_readings_suppressed_total")?.get())?.values.find((v) => v.labels.strategy === strategy)
      ?.value ?? 0;
  return { step, suppressed, filter };
}

describe("report strategies", () => {
  it("always passes everything through (the default)", async () => {
    const r = rig({});
    expect(r.step(0, { voltage: 230 })).toEqual({ voltage: 230 });
    expect(r.step(10, { voltage: 230 })).toEqual({ voltage: 230 });
  });

  it("period: at most one value per period", async () => {
    const r = rig({ strategy: "period", period_ms: 1000 });
    expect(r.step(0, { voltage: 230 })).toEqual({ voltage: 230 });
    expect(r.step(400, { voltage: 231 })).toBe(undefined);
    expect(r.step(400, { voltage: 232 })).toBe(undefined);
    expect(r.step(200, { voltage: 233 })).toEqual({ voltage: 233 });
    expect(await r.suppressed("period")).toBe(2);
  });

  it("on_change: only when the value differs, per point", async () => {
    const r = rig({ strategy: "on_change" });
    expect(r.step(0, { voltage: 230, relay_closed: true })).toEqual({ voltage: 230, relay_closed: true });
    expect(r.step(100, { voltage: 230, relay_closed: true })).toBe(undefined);
    expect(r.step(100, { voltage: 231, relay_closed: true })).toEqual({ voltage: 231 });
    expect(await r.suppressed("on_change")).toBe(3);
  });

  it("deadband absolute: beyond the band from the last reported value", async () => {
    const r = rig({ strategy: "deadband", deadband: 1 });
    expect(r.step(0, { voltage: 230 })).toEqual({ voltage: 230 });
    expect(r.step(1, { voltage: 230.9 })).toBe(undefined);
    expect(r.step(1, { voltage: 231 })).toBe(undefined); // exactly on the band is inside
    expect(r.step(1, { voltage: 231.1 })).toEqual({ voltage: 231.1 });
    // Slow drift is caught: compared with the last reported value, not the last seen.
    expect(r.step(1, { voltage: 231.6 })).toBe(undefined);
    expect(r.step(1, { voltage: 232.2 })).toEqual({ voltage: 232.2 });
    expect(await r.suppressed("deadband")).toBe(3);
  });

  it("deadband percent: of the catalog range (voltage 0-500 V: 1 % = 5 V)", () => {
    const r = rig({ strategy: "deadband", deadband: 1, deadband_mode: "percent" });
    expect(r.step(0, { voltage: 230 })).toEqual({ voltage: 230 });
    expect(r.step(1, { voltage: 234 })).toBe(undefined);
    expect(r.step(1, { voltage: 235.5 })).toEqual({ voltage: 235.5 });
  });

  it("on_change_or_heartbeat: a steady value still reports every heartbeat", async () => {
    const r = rig({ strategy: "on_change_or_heartbeat", heartbeat_ms: 1000 });
    expect(r.step(0, { voltage: 230 })).toEqual({ voltage: 230 });
    expect(r.step(500, { voltage: 230 })).toBe(undefined);
    expect(r.step(500, { voltage: 230 })).toEqual({ voltage: 230 });
    expect(r.step(100, { voltage: 229 })).toEqual({ voltage: 229 });
    expect(await r.suppressed("on_change_or_heartbeat")).toBe(1);
  });

  it("per-point overrides beat the device default", () => {
    const r = rig({ strategy: "on_change", points: { energy: { strategy: "always" } } });
    expect(r.step(0, { voltage: 230, energy: 5 })).toEqual({ voltage: 230, energy: 5 });
    expect(r.step(1, { voltage: 230, energy: 5 })).toEqual({ energy: 5 });
  });

  it("refuses incomplete policies with the missing field", () => {
    for (const [policy, path] of [
      [{ strategy: "period" }, "period_ms"],
      [{ strategy: "deadband" }, "deadband"],
      [{ strategy: "on_change_or_heartbeat" }, "heartbeat_ms"],
      [{ points: { voltage: { strategy: "deadband", deadband: 120, deadband_mode: "percent" } } }, "points.voltage.deadband"],
    ] as const) {
      const parsed = deviceReportSchema.safeParse(policy);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path.join("."))).toContain(path);
    }
  });

  it("a filtered sink stores only what passes and resolves a suppressed reading with seq 0", async () => {
    const r = rig({ strategy: "on_change" });
    const stored: NewReading[] = [];
    const sink = filteredSink(r.filter, {
      append: async (x) => {
        stored.push(x);
        return stored.length;
      },
      deadLetter: async () => undefined,
    });
    expect(await sink.append(reading({ voltage: 230 }))).toBe(1);
    expect(await sink.append(reading({ voltage: 230 }))).toBe(0);
    expect(await sink.append(reading({ voltage: 230 }, "other-device"))).toBe(2);
    expect(stored.map((s) => s.values)).toEqual([{ voltage: 230 }, { voltage: 230 }]);
  });

  it("without promises (appendNow) it filters once and waits out a full commit queue without filtering again", async () => {
    const r = rig({ strategy: "on_change" });
    const stored: NewReading[] = [];
    let busyOnce = true;
    let busyTold = 0;
    const sink = filteredSink(r.filter, {
      // A sink without appendNow: the filtered sink falls back to append, retrying OUTBOX_BUSY.
      append: async (x) => {
        if (busyOnce) {
          busyOnce = false;
          throw new BvError("OUTBOX_BUSY", "transient", "full");
        }
        stored.push(x);
        return stored.length;
      },
      deadLetter: async () => undefined,
    });
    const appendNow = (x: NewReading) =>
      new Promise<number>((resolve, reject) =>
        sink.appendNow?.(
          x,
          (err, seq) => (err ? reject(err) : resolve(seq)),
          () => {
            busyTold++;
          },
        ),
      );
    expect(await appendNow(reading({ voltage: 231 }))).toBe(1);
    expect(busyTold).toBe(1);
    expect(await appendNow(reading({ voltage: 231 }))).toBe(0);
    expect(stored.map((s) => s.values)).toEqual([{ voltage: 231 }]);
  });
});
