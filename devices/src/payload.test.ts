import { describe, expect, it } from "vitest";
import { deviceType } from "./catalog/index.js";
import { decodeCommand, decodeCommandResult, decodeTelemetry, encodeTelemetry, MAX_TELEMETRY_BYTES } from "./payload.js";
import type { DeviceType } from "./types.js";

const env = deviceType("env-sensor") as DeviceType;

function problems(payload: string | Uint8Array): string[] {
  const r = decodeTelemetry(env, payload);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe("decodeTelemetry", () => {
  it("accepts a valid payload with a device timestamp", () => {
    const r = decodeTelemetry(env, encodeTelemetry({ temperature: 21.5, humidity: 40, co2: 600 }, 1_764_000_000_000));
    expect(r).toEqual({
      ok: true,
      value: { deviceTimeMs: 1_764_000_000_000, deviceClockUnset: false, values: { temperature: 21.5, humidity: 40, co2: 600 } },
    });
  });

  it("accepts ISO timestamps and flags a 1970 clock instead of trusting it", () => {
    const iso = decodeTelemetry(env, '{"ts":"2026-01-02T03:04:05Z","values":{"temperature":1}}');
    expect(iso.ok && iso.value.deviceTimeMs).toBe(Date.parse("2026-01-02T03:04:05Z"));
    const unset = decodeTelemetry(env, '{"ts":12345,"values":{"temperature":1}}');
    expect(unset.ok && unset.value.deviceClockUnset).toBe(true);
    expect(unset.ok && unset.value.deviceTimeMs).toBeUndefined();
  });

  it("refuses malformed and wrong-typed payloads with reasons", () => {
    expect(problems("not json")[0]).toMatch(/not valid UTF-8 JSON/);
    expect(problems(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))[0]).toMatch(/UTF-8/);
    expect(problems("[1,2]")[0]).toMatch(/expected a JSON object/);
    expect(problems('{"values":{}}')[0]).toMatch(/no metric values/);
    expect(problems('{"values":5}')[0]).toMatch(/expected an object/);
    expect(problems('{"values":{"temperature":"hot"}}')).toEqual(['values.temperature: expected a finite number, got string "hot"']);
    expect(problems('{"values":{"temperature":200}}')).toEqual(["values.temperature: 200 is above the maximum 85"]);
    expect(problems('{"values":{"co2":500.5}}')).toEqual(["values.co2: expected an integer, got 500.5"]);
    expect(problems('{"values":{"pressure":1}}')).toEqual(["values.pressure: unknown metric for device type env-sensor"]);
    expect(problems('{"ts":true,"values":{"temperature":1}}')[0]).toMatch(/^ts:/);
    expect(problems(JSON.stringify({ values: { temperature: 1 }, pad: "x".repeat(MAX_TELEMETRY_BYTES) }))[0]).toMatch(/exceeds/);
    // The limit is in UTF-8 bytes: 6,000 three-byte characters are 18,000 bytes, not 6,000 units.
    expect(problems(JSON.stringify({ values: { temperature: 1 }, pad: "€".repeat(6000) }))[0]).toMatch(/18\d{3} bytes exceeds/);
  });

  it("lists every problem at once", () => {
    expect(problems('{"ts":"yesterday","values":{"temperature":"x","humidity":101}}')).toHaveLength(3);
  });
});

describe("command payloads", () => {
  it("decodes commands and results and refuses garbage", () => {
    expect(decodeCommand('{"id":"c1","name":"open"}')).toEqual({ ok: true, value: { id: "c1", name: "open", params: {} } });
    expect(decodeCommand("{}").ok).toBe(false);
    expect(decodeCommandResult('{"id":"c1","status":"succeeded","result":{"position":100}}')).toEqual({
      ok: true,
      value: { id: "c1", status: "succeeded", result: { position: 100 } },
    });
    expect(decodeCommandResult('{"id":"c1","status":"maybe"}').ok).toBe(false);
    expect(decodeCommandResult('{"status":"failed"}').ok).toBe(false);
    expect(decodeCommandResult("nope").ok).toBe(false);
  });
});
