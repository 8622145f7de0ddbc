/**
 * A packaging line's PLC: a state machine (stopped → starting → running, with blocked/starved
 * micro-stops and rare faults that an operator clears), counters that grow with line speed, a heat sealer held near 170 °C.
 */
import type { MetricValue, MetricValues } from "@bitvelocity/devices";
import type { Rng } from "../prng.js";
import { Clock, type CommandOutcome, clamp, type DeviceModel, fixed } from "./model.js";

type State = "stopped" | "starting" | "running" | "blocked" | "starved" | "fault";

const COUNTER_MAX = 2 ** 32 - 1;

export function packagingPlcModel(rng: Rng, intervalS: number): DeviceModel {
  const clock = new Clock(intervalS);
  let state: State = "running";
  let stateS = 0; // seconds left in a transient state
  let setpoint = Math.round(rng.uniform(120, 240));
  let speed = setpoint;
  let good = rng.int(0, 50_000);
  let reject = Math.round(good * 0.01);
  let goodFrac = 0;
  let rejectFrac = 0;
  let sealer = rng.uniform(165, 175);
  const rejectRate = rng.uniform(0.005, 0.03);

  function transition(dt: number): void {
    stateS -= dt;
    if (state === "starting" && stateS <= 0) state = "running";
    else if ((state === "blocked" || state === "starved") && stateS <= 0) state = "running";
    else if (state === "fault" && stateS <= 0)
      [state, stateS] = ["starting", 5]; // operator cleared it and restarted
    else if (state === "running") {
      const p = rng.next();
      if (p < 0.0005 * dt) [state, stateS] = ["fault", rng.uniform(30, 120)];
      else if (p < 0.01 * dt) [state, stateS] = [rng.chance(0.5) ? "blocked" : "starved", rng.uniform(3, 20)];
    }
  }

  return {
    sample(nowMs: number): MetricValues {
      const dt = clock.step(nowMs);
      transition(dt);
      const target = state === "running" ? setpoint : state === "starting" ? setpoint * 0.5 : 0;
      speed = clamp(speed + (target - speed) * clamp(0.5 * dt, 0, 1) + (target > 0 ? rng.gaussian(1) : 0), 0, 600);
      const made = (speed * dt) / 60;
      goodFrac += made * (1 - rejectRate);
      rejectFrac += made * rejectRate;
      good = Math.min(COUNTER_MAX, good + Math.floor(goodFrac));
      reject = Math.min(COUNTER_MAX, reject + Math.floor(rejectFrac));
      goodFrac %= 1;
      rejectFrac %= 1;
      const sealerTarget = state === "fault" ? 120 : 170;
      sealer = sealer + (sealerTarget - sealer) * clamp(0.05 * dt, 0, 1) + rng.gaussian(0.4);
      const current = speed > 0 ? 3 + (speed / 600) * 20 + rng.gaussian(0.3) : 0.4 + rng.gaussian(0.05);
      return {
        state,
        good_count: good,
        reject_count: reject,
        speed: fixed(speed, 1, 0, 600),
        speed_setpoint: setpoint,
        sealer_temperature: fixed(sealer, 1, 0, 300),
        motor_current: fixed(current, 2, 0, 100),
      };
    },
    apply(name: string, params: Record<string, MetricValue>): CommandOutcome {
      switch (name) {
        case "set_speed":
          setpoint = params.speed as number;
          return { ok: true, result: { speed_setpoint: setpoint } };
        case "start":
          if (state === "stopped" || state === "fault") [state, stateS] = ["starting", 3];
          return { ok: true, result: { state } };
        case "stop":
          state = "stopped";
          return { ok: true, result: { state } };
        case "reset_counters":
          [good, reject, goodFrac, rejectFrac] = [0, 0, 0, 0];
          return { ok: true, result: { good_count: 0, reject_count: 0 } };
        default:
          return { ok: false, message: `command ${name} is not supported` };
      }
    },
  };
}
