import { deviceType } from "@bitvelocity/devices";
import { describe, expect, it } from "vitest";
import { Rng } from "../prng.js";
import { scenarioSchema } from "../scenario.js";
import { type SignalSpec, signalSpecSchema, withGenerators } from "./generators.js";
import { createModel } from "./index.js";

const TRACKER = deviceType("cold-chain-tracker")!;
const ENV = deviceType("env-sensor")!;

function run(type: typeof ENV, specs: unknown[], samples: number, stepMs = 1000) {
  const parsed = specs.map((s) => signalSpecSchema.parse(s)) as SignalSpec[];
  const rng = Rng.from(3, "gen");
  const model = withGenerators(createModel(type.type, rng, 1), type, parsed, rng, 1);
  const t0 = 1_800_000_000_000;
  return Array.from({ length: samples }, (_, i) => model.sample(t0 + i * stepMs));
}

describe("signal generators", () => {
  it("counter counts, step steps, sine stays within its band, random walk within its bounds", () => {
    const out = run(
      ENV,
      [
        { kind: "counter", metric: "co2", start: 500, increment: 2 },
        { kind: "step", metric: "humidity", values: [30, 60], every_s: 5 },
        { kind: "sine", metric: "temperature", min: 10, max: 20, period_s: 60 },
        { kind: "random_walk", metric: "battery", start: 50, step: 5, min: 40, max: 60 },
      ],
      120,
    );
    expect(out.slice(0, 3).map((v) => v.co2)).toEqual([500, 502, 504]);
    expect(new Set(out.map((v) => v.humidity))).toEqual(new Set([30, 60]));
    expect(out.slice(0, 4).every((v) => v.humidity === 30)).toBe(true);
    const temps = out.map((v) => v.temperature as number);
    expect(Math.min(...temps)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...temps)).toBeLessThanOrEqual(20);
    expect(Math.max(...temps) - Math.min(...temps)).toBeGreaterThan(8); // a full period in 120 s
    expect(out.every((v) => (v.battery as number) >= 40 && (v.battery as number) <= 60)).toBe(true);
  });

  it("a GPS route moves along its waypoints at the given speed", () => {
    const waypoints = [
      [52.0, 13.0],
      [52.0, 13.5],
      [52.3, 13.5],
    ];
    const out = run(TRACKER, [{ kind: "gps_route", waypoints, speed_kmh: 90, speed_metric: "speed" }], 600, 10_000);
    for (const v of out) {
      expect(v.lat as number).toBeGreaterThanOrEqual(52.0 - 1e-6);
      expect(v.lat as number).toBeLessThanOrEqual(52.3 + 1e-6);
      expect(v.lon as number).toBeGreaterThanOrEqual(13.0 - 1e-6);
      expect(v.lon as number).toBeLessThanOrEqual(13.5 + 1e-6);
      expect(v.speed).toBe(90);
    }
    // 10 s at 90 km/h is 250 m: consecutive fixes are about that far apart (except at a corner).
    const d = (a: (typeof out)[number], b: (typeof out)[number]) =>
      Math.hypot(
        ((b.lat as number) - (a.lat as number)) * 111.2,
        ((b.lon as number) - (a.lon as number)) * 111.2 * Math.cos((52 * Math.PI) / 180),
      );
    const steps = out.slice(1).map((v, i) => d(out[i]!, v));
    const median = [...steps].sort((a, b) => a - b)[Math.floor(steps.length / 2)]!;
    expect(median).toBeGreaterThan(0.22);
    expect(median).toBeLessThan(0.28);
  });

  it("values are clamped to the catalog's range", () => {
    const out = run(ENV, [{ kind: "sine", metric: "humidity", min: -50, max: 150, period_s: 10 }], 50);
    expect(out.every((v) => (v.humidity as number) >= 0 && (v.humidity as number) <= 100)).toBe(true);
  });

  it("a scenario refuses bad signals and failures, listing each", () => {
    const structural = scenarioSchema.safeParse({
      version: 1,
      fleets: [{ type: "env-sensor", count: 1, signals: [{ kind: "gps_route", waypoints: [[1, 2]], speed_kmh: 5 }] }],
      failures: [{ kind: "meteor_strike", at_s: 1 }, { kind: "power_cycle" }],
    });
    expect(structural.error?.issues.map((i) => i.path.join("."))).toEqual(
      expect.arrayContaining(["fleets.0.signals.0.waypoints", "failures.0.kind", "failures.1"]),
    );
    // Checked once the structure is right: metrics the type lacks, prefixes no fleet has.
    const semantic = scenarioSchema.safeParse({
      version: 1,
      fleets: [{ type: "env-sensor", count: 1, id_prefix: "env-", signals: [{ kind: "counter", metric: "speed" }] }],
      failures: [{ kind: "duplicate", at_s: 1, id_prefix: "nope-" }],
    });
    expect(semantic.error?.issues.map((i) => i.path.join("."))).toEqual(["fleets.0.signals.0", "failures.0.id_prefix"]);
  });
});
