/**
 * Scenario-defined signal generators (`fleets[].signals`): sine, random walk, step, counter and a
 * GPS route along waypoints. They override the type's built-in model metric by metric, so a
 * scenario can shape exactly the signal a test or a sizing run needs. Values are clamped to the
 * catalog's range, so a generated reading is always valid (malformed data is a failure to inject,
 * not an accident of configuration).
 */
import type { DeviceType, MetricValues } from "@bitvelocity/devices";
import { z } from "zod";
import type { Rng } from "../prng.js";
import { clamp, type DeviceModel } from "./model.js";

const waypoint = z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)]);

export const signalSpecSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("sine"),
      metric: z.string(),
      min: z.number(),
      max: z.number(),
      period_s: z.number().positive(),
      noise: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      kind: z.literal("random_walk"),
      metric: z.string(),
      start: z.number(),
      step: z.number().positive(),
      min: z.number(),
      max: z.number(),
    })
    .strict(),
  z.object({ kind: z.literal("step"), metric: z.string(), values: z.array(z.number()).min(1), every_s: z.number().positive() }).strict(),
  z.object({ kind: z.literal("counter"), metric: z.string(), start: z.number().default(0), increment: z.number().default(1) }).strict(),
  z
    .object({
      kind: z.literal("gps_route"),
      lat_metric: z.string().default("lat"),
      lon_metric: z.string().default("lon"),
      waypoints: z.array(waypoint).min(2, "a route needs at least two waypoints"),
      speed_kmh: z.number().positive(),
      speed_metric: z.string().optional(),
    })
    .strict(),
]);

export type SignalSpec = z.output<typeof signalSpecSchema>;

/** The metrics a spec writes, for validation against the device type. */
export function specMetrics(spec: SignalSpec): string[] {
  if (spec.kind === "gps_route") return [spec.lat_metric, spec.lon_metric, ...(spec.speed_metric ? [spec.speed_metric] : [])];
  return [spec.metric];
}

type Generator = (nowMs: number, dtS: number, out: MetricValues) => void;

const EARTH_RADIUS_KM = 6371;

function distanceKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

function generator(spec: SignalSpec, rng: Rng): Generator {
  switch (spec.kind) {
    case "sine": {
      const phase = rng.uniform(0, 2 * Math.PI);
      const mid = (spec.min + spec.max) / 2;
      const amp = (spec.max - spec.min) / 2;
      return (now, _dt, out) => {
        out[spec.metric] = mid + amp * Math.sin((2 * Math.PI * now) / (spec.period_s * 1000) + phase) + rng.gaussian(spec.noise);
      };
    }
    case "random_walk": {
      let v = spec.start;
      return (_now, dt, out) => {
        v = clamp(v + rng.gaussian(spec.step) * Math.sqrt(Math.max(dt, 1e-3)), spec.min, spec.max);
        out[spec.metric] = v;
      };
    }
    case "step": {
      let elapsed = 0;
      return (_now, dt, out) => {
        elapsed += dt;
        out[spec.metric] = spec.values[Math.floor(elapsed / spec.every_s) % spec.values.length] as number;
      };
    }
    case "counter": {
      let v = spec.start - spec.increment;
      return (_now, _dt, out) => {
        v += spec.increment;
        out[spec.metric] = v;
      };
    }
    case "gps_route": {
      // Drive the waypoints in a loop (last → first closes it) at the given speed.
      const legs = spec.waypoints.map((w, i) => [w, spec.waypoints[(i + 1) % spec.waypoints.length]!] as const);
      const lengths = legs.map(([a, b]) => distanceKm(a, b));
      const total = lengths.reduce((s, l) => s + l, 0);
      let travelled = rng.uniform(0, total);
      return (_now, dt, out) => {
        travelled = total > 0 ? (travelled + (spec.speed_kmh * dt) / 3600) % total : 0;
        let rest = travelled;
        let leg = 0;
        while (leg < legs.length - 1 && rest > lengths[leg]!) rest -= lengths[leg++]!;
        const [a, b] = legs[leg]!;
        const f = lengths[leg]! > 0 ? rest / lengths[leg]! : 0;
        out[spec.lat_metric] = a[0] + (b[0] - a[0]) * f;
        out[spec.lon_metric] = a[1] + (b[1] - a[1]) * f;
        if (spec.speed_metric) out[spec.speed_metric] = spec.speed_kmh;
      };
    }
  }
}

/** Wraps a type's model: the specs' metrics replace the model's, clamped and rounded to the catalog. */
export function withGenerators(
  base: DeviceModel,
  type: DeviceType,
  specs: readonly SignalSpec[],
  rng: Rng,
  intervalS: number,
): DeviceModel {
  if (specs.length === 0) return base;
  const gens = specs.map((s) => generator(s, rng));
  const defs = new Map(type.metrics.map((m) => [m.name, m]));
  let last: number | undefined;
  return {
    sample(nowMs) {
      const out = base.sample(nowMs);
      const dt = last === undefined ? intervalS : Math.max(0, (nowMs - last) / 1000);
      last = nowMs;
      for (const g of gens) g(nowMs, dt, out);
      for (const spec of specs) {
        for (const metric of specMetrics(spec)) {
          const def = defs.get(metric);
          const v = out[metric];
          if (!def || typeof v !== "number") continue;
          const bounded = clamp(v, def.min ?? -Infinity, def.max ?? Infinity);
          out[metric] = def.type === "integer" ? Math.round(bounded) : Math.round(bounded * 1e6) / 1e6;
        }
      }
      return out;
    },
    apply: (name, params) => base.apply(name, params),
  };
}
