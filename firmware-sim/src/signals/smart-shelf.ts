/**
 * A retail shelf on load cells: shoppers take items (the weight steps down), staff restock it
 * when it runs low (door open while they do). The firmware counts items as weight / unit weight.
 */
import type { MetricValue, MetricValues } from "@bitvelocity/devices";
import type { Rng } from "../prng.js";
import { Clock, type CommandOutcome, clamp, type DeviceModel, fixed } from "./model.js";

export function smartShelfModel(rng: Rng, intervalS: number): DeviceModel {
  const clock = new Clock(intervalS);
  const itemWeight = fixed(rng.uniform(0.2, 2), 3, 0.001, 50);
  const capacity = Math.min(rng.int(20, 60), Math.floor(190 / itemWeight));
  let items = rng.int(Math.ceil(capacity / 2), capacity);
  let unitWeight = itemWeight;
  let tareKg = 0;
  let restocking = 0;

  return {
    sample(nowMs: number): MetricValues {
      const dt = clock.step(nowMs);
      let doorOpen = false;
      if (restocking > 0) {
        restocking -= 1;
        items = Math.min(capacity, items + rng.int(3, 8));
        doorOpen = restocking > 0;
      } else if (items <= Math.max(2, capacity * 0.15) && rng.chance(0.2)) {
        restocking = rng.int(2, 4);
        doorOpen = true;
      } else if (items > 0 && rng.chance(Math.min(0.9, 0.15 * dt))) {
        items = Math.max(0, items - rng.int(1, 3));
        doorOpen = rng.chance(0.5);
      }
      const raw = items * itemWeight + rng.gaussian(0.004);
      const weight = fixed(raw - tareKg, 3, 0, 200);
      return {
        weight,
        item_count: clamp(Math.round(weight / unitWeight), 0, 10000),
        unit_weight: unitWeight,
        door_open: doorOpen,
      };
    },
    apply(name: string, params: Record<string, MetricValue>): CommandOutcome {
      if (name === "tare") {
        tareKg = items * itemWeight;
        return { ok: true, result: { tare_kg: fixed(tareKg, 3, 0, 200) } };
      }
      if (name === "set_unit_weight") {
        unitWeight = params.kg as number;
        return { ok: true, result: { unit_weight: unitWeight } };
      }
      return { ok: false, message: `command ${name} is not supported` };
    },
  };
}
