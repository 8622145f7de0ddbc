import { describe, expect, it } from "vitest";
import { deviceType } from "./catalog/index.js";
import type { DeviceType } from "./types.js";
import { validateCommand, validateValues } from "./values.js";

const valve = deviceType("valve-actuator") as DeviceType;
const plc = deviceType("packaging-plc") as DeviceType;

describe("validateCommand", () => {
  it("accepts valid commands", () => {
    expect(validateCommand(valve, "set_position", { position: 40 })).toMatchObject({ params: { position: 40 } });
    expect(validateCommand(valve, "open", undefined)).toMatchObject({ params: {} });
  });

  it("refuses unknown commands, missing, out-of-range, mistyped and unknown parameters", () => {
    const paths = (r: ReturnType<typeof validateCommand>) => ("problems" in r ? r.problems.map((p) => p.path) : []);
    expect(paths(validateCommand(valve, "explode", {}))).toEqual(["name"]);
    expect(paths(validateCommand(valve, "set_position", {}))).toEqual(["params.position"]);
    expect(paths(validateCommand(valve, "set_position", { position: 101 }))).toEqual(["params.position"]);
    expect(paths(validateCommand(valve, "set_relay", { on: "yes" }))).toEqual(["params.on"]);
    expect(paths(validateCommand(valve, "open", { force: true }))).toEqual(["params.force"]);
    expect(paths(validateCommand(valve, "open", [1]))).toEqual(["params"]);
  });
});

describe("validateValues", () => {
  it("checks enum and boolean metrics", () => {
    expect(validateValues(plc, { state: "running" })).toEqual({ values: { state: "running" } });
    expect("problems" in validateValues(plc, { state: "dancing" })).toBe(true);
    expect("problems" in validateValues(valve, { relay: 1 })).toBe(true);
    expect("problems" in validateValues(valve, { position: Number.NaN })).toBe(true);
  });

  it("checks numbers at and beyond both ends of a range, and only a value's own keys", () => {
    const env = deviceType("env-sensor") as DeviceType;
    const temperature = env.metrics.find((m) => m.name === "temperature") as { min: number; max: number };
    for (const ok of [temperature.min, temperature.max, 0, -0]) expect(validateValues(env, { temperature: ok })).toHaveProperty("values");
    for (const bad of [temperature.min - 0.001, temperature.max + 0.001, Number.POSITIVE_INFINITY, Number.NaN, null]) {
      expect(validateValues(env, { temperature: bad })).toHaveProperty("problems");
    }
    const inherited = Object.assign(Object.create({ pressure: 1 }), { humidity: 40 });
    expect(validateValues(env, inherited)).toEqual({ values: { humidity: 40 } });
    // A JSON "__proto__" key is an own key like any other: refused as an unknown metric.
    expect(validateValues(env, JSON.parse('{"__proto__":{"x":1},"humidity":40}'))).toHaveProperty("problems");
  });

  it("names what was expected and what came, also for a value with no content", () => {
    const result = validateValues(valve, { position: undefined });
    const messages = "problems" in result ? result.problems.map((p) => p.message) : [];
    expect(messages).toEqual(["expected a finite number, got no value"]);
    expect(messages.join()).not.toContain("undefined");
  });
});
