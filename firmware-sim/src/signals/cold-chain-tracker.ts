/**
 * A refrigerated container on a truck: it drives between waypoints (with stops), the cargo stays
 * at 2–8 °C except for door-open excursions, and the battery drains until it is swapped at a depot.
 */
import type { MetricValue, MetricValues } from "@bitvelocity/devices";
import type { Rng } from "../prng.js";
import { Clock, type CommandOutcome, clamp, type DeviceModel, fixed } from "./model.js";

type Point = readonly [lat: number, lon: number];

/** A few road corridors (lat, lon); each tracker drives one, back and forth. */
const ROUTES: readonly (readonly Point[])[] = [
  [
    [52.52, 13.405],
    [52.12, 11.63],
    [51.34, 12.37],
    [50.11, 8.68],
  ],
  [
    [48.856, 2.352],
    [49.44, 1.1],
    [50.63, 3.06],
    [50.85, 4.35],
  ],
  [
    [45.46, 9.19],
    [45.07, 7.69],
    [44.41, 8.93],
    [43.77, 11.25],
  ],
];

const KM_PER_DEG = 111.32;

export function coldChainTrackerModel(rng: Rng, intervalS: number): DeviceModel {
  const clock = new Clock(intervalS);
  const route = rng.pick(ROUTES);
  let leg = rng.int(0, route.length - 2);
  let direction = 1;
  let progress = rng.next(); // fraction of the current leg
  let cruise = rng.uniform(60, 90);
  let speed = cruise;
  let stoppedS = 0;
  let temperature = rng.uniform(3, 6);
  let excursionS = 0;
  let battery = rng.uniform(50, 100);
  let band = { min: 2, max: 8 };

  function move(dt: number): Point {
    const from = route[leg] as Point;
    const to = route[leg + direction] ?? from;
    const dLat = to[0] - from[0];
    const dLon = (to[1] - from[1]) * Math.cos((from[0] * Math.PI) / 180);
    const legKm = Math.max(0.1, Math.hypot(dLat, dLon) * KM_PER_DEG);
    progress += (speed * dt) / 3600 / legKm;
    if (progress >= 1) {
      progress = 0;
      leg += direction;
      if (leg + direction < 0 || leg + direction >= route.length) direction = -direction;
      stoppedS = rng.uniform(60, 600); // a delivery stop
    }
    const a = route[leg] as Point;
    const b = route[leg + direction] ?? a;
    return [a[0] + (b[0] - a[0]) * progress, a[1] + (b[1] - a[1]) * progress];
  }

  return {
    sample(nowMs: number): MetricValues {
      const dt = clock.step(nowMs);
      if (stoppedS > 0) {
        stoppedS -= dt;
        speed = 0;
        if (excursionS <= 0 && rng.chance(0.02)) excursionS = rng.uniform(60, 300); // door opened at the stop
      } else {
        cruise = clamp(cruise + rng.gaussian(1), 40, 110);
        speed = clamp(speed + (cruise - speed) * 0.3 + rng.gaussian(2), 0, 130);
      }
      const [lat, lon] = move(dt);
      const setpoint = excursionS > 0 ? 11 : 4.5;
      excursionS -= dt;
      temperature = temperature + (setpoint - temperature) * clamp(0.02 * dt, 0, 1) + rng.gaussian(0.05);
      battery -= 0.0005 * dt;
      if (battery < 5) battery = 100; // swapped at the depot
      return {
        lat: fixed(lat, 5, -90, 90),
        lon: fixed(lon, 5, -180, 180),
        temperature: fixed(temperature, 2, -40, 60),
        battery: fixed(battery, 2, 0, 100),
        speed: fixed(speed, 1, 0, 200),
      };
    },
    apply(name: string, params: Record<string, MetricValue>): CommandOutcome {
      if (name === "set_temperature_band") {
        const min = params.min as number;
        const max = params.max as number;
        if (min >= max) return { ok: false, message: `min ${min} must be below max ${max}` };
        band = { min, max };
        return { ok: true, result: { ...band } };
      }
      return { ok: false, message: `command ${name} is not supported` };
    },
  };
}
