/**
 * A three-phase meter on a building feed: voltage around 230 V, a load current that varies over
 * the day, an energy counter that only grows, grid frequency around 50 Hz.
 */
import type { MetricValue, MetricValues } from "@bitvelocity/devices";
import type { Rng } from "../prng.js";
import { Clock, type CommandOutcome, clamp, type DeviceModel, fixed, hourOfDay } from "./model.js";

const ENERGY_MAX = 4294967;

export function powerMeterModel(rng: Rng, intervalS: number): DeviceModel {
  const clock = new Clock(intervalS);
  const baseCurrent = rng.uniform(8, 35);
  let load = 1;
  let powerFactor = rng.uniform(0.88, 0.98);
  let energy = rng.uniform(1_000, 50_000);
  let relayClosed = true;

  return {
    sample(nowMs: number): MetricValues {
      const dt = clock.step(nowMs);
      const voltage = 230 + 2.5 * Math.sin((2 * Math.PI * hourOfDay(nowMs)) / 24) + rng.gaussian(1.2);
      load = clamp(load + (1 - load) * 0.05 + rng.gaussian(0.04), 0.3, 1.8);
      const daytime = 0.6 + 0.4 * Math.max(0, Math.sin((2 * Math.PI * (hourOfDay(nowMs) - 6)) / 24));
      const current = relayClosed ? clamp(baseCurrent * load * daytime, 0, 200) : 0;
      powerFactor = clamp(powerFactor + rng.gaussian(0.003), 0.8, 0.99);
      const power = (voltage * current * powerFactor * 3) / 1000; // three phases, kW
      energy = Math.min(ENERGY_MAX, energy + (power * dt) / 3600);
      return {
        voltage: fixed(voltage, 1, 0, 500),
        current: fixed(current, 2, 0, 200),
        power: fixed(power, 3, -1000, 1000),
        energy: Math.min(ENERGY_MAX, Math.floor(energy * 100) / 100),
        frequency: fixed(50 + rng.gaussian(0.02), 3, 49.8, 50.2),
        power_factor: fixed(powerFactor, 3, -1, 1),
        relay_closed: relayClosed,
      };
    },
    apply(name: string, params: Record<string, MetricValue>): CommandOutcome {
      if (name === "set_relay") {
        relayClosed = params.closed as boolean;
        return { ok: true, result: { relay_closed: relayClosed } };
      }
      if (name === "reset_energy") {
        energy = 0;
        return { ok: true, result: { energy: 0 } };
      }
      return { ok: false, message: `command ${name} is not supported` };
    },
  };
}
