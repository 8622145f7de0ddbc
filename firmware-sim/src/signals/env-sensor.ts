/**
 * Indoor climate: temperature follows a diurnal sine (peak mid-afternoon) plus noise, humidity is
 * anti-correlated with it, CO2 is a mean-reverting random walk, the battery drains slowly.
 */
import type { MetricValues } from "@bitvelocity/devices";
import type { Rng } from "../prng.js";
import { Clock, clamp, type DeviceModel, fixed, hourOfDay, unknownCommand } from "./model.js";

export function envSensorModel(rng: Rng, intervalS: number): DeviceModel {
  const clock = new Clock(intervalS);
  const baseTemp = rng.uniform(19, 23);
  const amplitude = rng.uniform(1.5, 4);
  const baseHumidity = rng.uniform(38, 55);
  let co2 = rng.uniform(450, 800);
  let battery = rng.uniform(60, 100);

  return {
    sample(nowMs: number): MetricValues {
      const dt = clock.step(nowMs);
      const diurnal = Math.sin((2 * Math.PI * (hourOfDay(nowMs) - 9)) / 24);
      const temperature = baseTemp + amplitude * diurnal + rng.gaussian(0.15);
      const humidity = baseHumidity - 1.8 * (temperature - baseTemp) + rng.gaussian(0.6);
      co2 = clamp(co2 + (650 - co2) * 0.002 * dt + rng.gaussian(6) * Math.sqrt(dt), 400, 5000);
      battery = clamp(battery - 0.00002 * dt, 0, 100);
      return {
        temperature: fixed(temperature, 2, -40, 85),
        humidity: fixed(humidity, 1, 0, 100),
        co2: Math.round(clamp(co2, 0, 10000)),
        battery: fixed(battery, 2, 0, 100),
      };
    },
    apply: unknownCommand,
  };
}
