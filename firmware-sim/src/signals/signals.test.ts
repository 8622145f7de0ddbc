import { deviceType, type MetricValues, validateValues } from "@bitvelocity/devices";
import { describe, expect, it } from "vitest";
import { Rng } from "../prng.js";
import { createModel, type DeviceModel, simulatedTypes } from "./index.js";

const T0 = Date.UTC(2026, 0, 15, 0, 0, 0);

/** Samples the model `ms` after its previous sample. */
function stepper(model: DeviceModel): (ms: number) => MetricValues {
  let t = T0;
  return (ms) => {
    t += ms;
    return model.sample(t);
  };
}

/** Samples a model every `stepMs` (with irregular gaps) and returns the readings. */
function run(type: string, seed: number, samples: number, stepMs: number) {
  const model = createModel(type, Rng.from(seed, `${type}-0001`), stepMs / 1000);
  const gaps = Rng.from(seed, "gaps");
  const out = [];
  let t = T0;
  for (let i = 0; i < samples; i++) {
    t += gaps.chance(0.01) ? stepMs * 200 : stepMs; // occasional long gaps (device was offline)
    out.push(model.sample(t));
  }
  return { model, out };
}

describe("signal models", () => {
  it("cover every MQTT device type of the catalog", () => {
    expect(simulatedTypes().sort()).toEqual(
      ["cold-chain-tracker", "env-sensor", "packaging-plc", "power-meter", "smart-shelf", "valve-actuator"].sort(),
    );
  });

  for (const type of simulatedTypes()) {
    it(`${type}: 5000 samples over days stay within the catalog's ranges, every metric present, not constant`, () => {
      const def = deviceType(type)!;
      for (const seed of [1, 2, 3]) {
        const { out } = run(type, seed, 5000, 60_000);
        for (const values of out) {
          const checked = validateValues(def, values);
          if ("problems" in checked) expect.fail(`${type} seed ${seed}: ${JSON.stringify(checked.problems)} in ${JSON.stringify(values)}`);
          expect(Object.keys(values).sort()).toEqual(def.metrics.map((m) => m.name).sort());
        }
        const numeric = def.metrics.filter((m) => m.type === "number" && m.name !== "unit_weight" && m.name !== "speed_setpoint");
        for (const m of numeric) {
          const distinct = new Set(out.map((v) => v[m.name]));
          expect(distinct.size, `${type}.${m.name} varies`).toBeGreaterThan(5);
        }
      }
    });
  }

  it("are deterministic: the same seed gives the same readings, another seed different ones", () => {
    for (const type of simulatedTypes()) {
      const a = run(type, 42, 50, 1000).out;
      const b = run(type, 42, 50, 1000).out;
      const c = run(type, 43, 50, 1000).out;
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
    }
  });
});

describe("signal physics", () => {
  it("env-sensor: humidity falls when temperature rises", () => {
    const { out } = run("env-sensor", 5, 24 * 60, 60_000);
    const t = out.map((v) => v.temperature as number);
    const h = out.map((v) => v.humidity as number);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const [mt, mh] = [mean(t), mean(h)];
    const cov = t.reduce((s, x, i) => s + (x - mt) * (h[i]! - mh), 0);
    expect(cov).toBeLessThan(0);
  });

  it("smart-shelf: item_count is round(weight / unit_weight), also after set_unit_weight and tare", () => {
    const { model, out } = run("smart-shelf", 9, 2000, 10_000);
    const check = (v: Record<string, unknown>) =>
      expect(v.item_count).toBe(Math.min(10000, Math.round((v.weight as number) / (v.unit_weight as number))));
    out.forEach(check);
    const weights = out.map((v) => v.weight as number);
    expect(weights.some((w, i) => i > 0 && w < weights[i - 1]! - 0.1)).toBe(true); // items taken
    expect(weights.some((w, i) => i > 0 && w > weights[i - 1]! + 0.1)).toBe(true); // restocked
    expect(model.apply("set_unit_weight", { kg: 0.5 })).toEqual({ ok: true, result: { unit_weight: 0.5 } });
    const after = model.sample(T0 + 1e9);
    expect(after.unit_weight).toBe(0.5);
    check(after);
    expect(model.apply("tare", {}).ok).toBe(true);
    expect(model.sample(T0 + 1e9 + 1000).weight as number).toBeLessThan(0.05);
  });

  it("valve-actuator: the position moves toward the commanded target, flow follows it", () => {
    const model = createModel("valve-actuator", Rng.from(1, "v"), 1);
    const tick = stepper(model);
    model.apply("close", {});
    for (let i = 0; i < 30; i++) tick(1000);
    const closed = tick(1000);
    expect(closed).toMatchObject({ position: 0, state: "closed", flow: 0 });
    expect(model.apply("set_position", { position: 60 })).toEqual({ ok: true, result: { target: 60 } });
    const moving = tick(1000);
    expect(moving.state).toBe("moving");
    expect(moving.position as number).toBeGreaterThan(0);
    expect(moving.position as number).toBeLessThan(60);
    for (let i = 0; i < 30; i++) tick(1000);
    const open = tick(1000);
    expect(open).toMatchObject({ position: 60, state: "open" });
    expect(open.flow as number).toBeGreaterThan(moving.flow as number);
    model.apply("set_relay", { on: true });
    expect(tick(1000).relay).toBe(true);
  });

  it("power-meter: energy only grows until reset; an open relay means no current", () => {
    const { model, out } = run("power-meter", 3, 3000, 5000);
    const energy = out.map((v) => v.energy as number);
    expect(energy.every((e, i) => i === 0 || e >= energy[i - 1]!)).toBe(true);
    expect(energy[energy.length - 1]!).toBeGreaterThan(energy[0]!);
    model.apply("set_relay", { closed: false });
    expect(model.sample(T0 + 1e10)).toMatchObject({ current: 0, relay_closed: false });
    model.apply("reset_energy", {});
    expect(model.sample(T0 + 1e10 + 1000).energy).toBe(0);
  });

  it("packaging-plc: counters grow while running, stop freezes them, start resumes, reset zeroes", () => {
    const model = createModel("packaging-plc", Rng.from(4, "plc"), 1);
    const tick = stepper(model);
    const first = tick(1000);
    for (let i = 0; i < 120; i++) tick(1000);
    const later = tick(1000);
    expect(later.good_count as number).toBeGreaterThan(first.good_count as number);
    model.apply("stop", {});
    for (let i = 0; i < 20; i++) tick(1000);
    const stopped = tick(1000);
    const stoppedAgain = tick(60_000);
    expect(stopped.state).toBe("stopped");
    expect(stoppedAgain.good_count).toBe(stopped.good_count);
    expect(model.apply("start", {})).toEqual({ ok: true, result: { state: "starting" } });
    expect(model.apply("set_speed", { speed: 300 }).ok).toBe(true);
    model.apply("reset_counters", {});
    for (let i = 0; i < 60; i++) tick(1000);
    const resumed = tick(1000);
    expect(resumed.speed_setpoint).toBe(300);
    expect(resumed.good_count as number).toBeGreaterThan(0);
    expect(resumed.good_count as number).toBeLessThan(stopped.good_count as number);
  });

  it("cold-chain-tracker: moves, keeps 2–8 °C most of the time, refuses an inverted band", () => {
    const { model, out } = run("cold-chain-tracker", 8, 3000, 30_000);
    const inBand = out.filter((v) => (v.temperature as number) >= 2 && (v.temperature as number) <= 8).length;
    expect(inBand / out.length).toBeGreaterThan(0.8);
    expect(new Set(out.map((v) => `${v.lat},${v.lon}`)).size).toBeGreaterThan(100);
    expect(model.apply("set_temperature_band", { min: 8, max: 2 }).ok).toBe(false);
    expect(model.apply("set_temperature_band", { min: 2, max: 8 })).toEqual({ ok: true, result: { min: 2, max: 8 } });
  });
});
