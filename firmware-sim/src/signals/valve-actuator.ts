/**
 * A motorised valve: the position moves toward a target at the motor's speed (state `moving`
 * meanwhile), flow follows the opening. Until its first command it follows a slow local schedule; after that
 * only commands move it.
 */
import type { MetricValue, MetricValues } from "@bitvelocity/devices";
import type { Rng } from "../prng.js";
import { Clock, type CommandOutcome, type DeviceModel, fixed } from "./model.js";

export function valveActuatorModel(rng: Rng, intervalS: number): DeviceModel {
  const clock = new Clock(intervalS);
  const ratePerS = rng.uniform(4, 12); // % of stroke per second
  const maxFlow = rng.uniform(120, 600); // l/min fully open
  let position = rng.chance(0.5) ? 0 : fixed(rng.uniform(20, 100), 1, 0, 100);
  let target = position;
  let relay = rng.chance(0.5);
  let remote = false; // a command took over from the local schedule

  return {
    sample(nowMs: number): MetricValues {
      const dt = clock.step(nowMs);
      if (!remote && position === target && rng.chance(0.01)) target = rng.chance(0.3) ? 0 : fixed(rng.uniform(10, 100), 0, 0, 100);
      const step = ratePerS * dt;
      position = Math.abs(target - position) <= step ? target : position + Math.sign(target - position) * step;
      const moving = position !== target;
      const flow = position === 0 ? 0 : maxFlow * (position / 100) * (1 + rng.gaussian(0.02));
      return {
        position: fixed(position, 1, 0, 100),
        relay,
        state: moving ? "moving" : position === 0 ? "closed" : "open",
        flow: fixed(flow, 1, 0, 1000),
      };
    },
    apply(name: string, params: Record<string, MetricValue>): CommandOutcome {
      remote = true;
      switch (name) {
        case "open":
          target = 100;
          return { ok: true, result: { target } };
        case "close":
          target = 0;
          return { ok: true, result: { target } };
        case "set_position":
          target = params.position as number;
          return { ok: true, result: { target } };
        case "set_relay":
          relay = params.on as boolean;
          return { ok: true, result: { relay } };
        default:
          return { ok: false, message: `command ${name} is not supported` };
      }
    },
  };
}
