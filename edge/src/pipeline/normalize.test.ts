import { deviceType } from "@bitvelocity/devices";
import { describe, expect, it } from "vitest";
import { normalizeTelemetry } from "./normalize.js";

const env = deviceType("env-sensor")!;
const topic = "bv/env-1/telemetry";
const bytes = (s: string) => new TextEncoder().encode(s);

describe("normalizeTelemetry", () => {
  it("turns a valid payload into a reading with the device time", () => {
    const ts = Date.UTC(2025, 5, 1);
    const out = normalizeTelemetry("env-1", env, topic, bytes(JSON.stringify({ ts, values: { temperature: 21.5 } })));
    expect(out).toEqual({
      ok: true,
      reading: { deviceId: "env-1", deviceType: "env-sensor", values: { temperature: 21.5 }, deviceTimeMs: ts, lane: "telemetry" },
    });
  });

  it("puts a reading outside the catalog's normal range in the alarm lane", () => {
    const normal = env.metrics.find((m) => m.name === "temperature")!.normal!;
    const hot = normalizeTelemetry("env-1", env, topic, bytes(JSON.stringify({ values: { temperature: normal.max + 5 } })));
    expect(hot.ok && hot.reading.lane).toBe("alarm");
    const fine = normalizeTelemetry("env-1", env, topic, bytes(JSON.stringify({ values: { temperature: normal.min } })));
    expect(fine.ok && fine.reading.lane).toBe("telemetry");
  });

  it("drops an implausible device time (clock unset) but keeps the reading", () => {
    const out = normalizeTelemetry("env-1", env, topic, bytes(JSON.stringify({ ts: 5000, values: { humidity: 40 } })));
    expect(out.ok && out.reading.deviceTimeMs).toBe(undefined);
  });

  it.each([
    ["malformed JSON", "{not json", /JSON/],
    ["wrong type", JSON.stringify({ values: { temperature: "hot" } }), /temperature: expected a finite number/],
    ["out of range", JSON.stringify({ values: { humidity: 140 } }), /humidity: 140 is above the maximum 100/],
    ["unknown metric", JSON.stringify({ values: { pressure: 1 } }), /pressure/],
  ])("dead-letters %s with the reason", (_name, payload, reason) => {
    const out = normalizeTelemetry("env-1", env, topic, bytes(payload));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.deadLetter.reason).toMatch(reason);
    expect(out.deadLetter.deviceId).toBe("env-1");
    expect(Buffer.from(out.deadLetter.payload).toString()).toBe(payload);
  });
});
