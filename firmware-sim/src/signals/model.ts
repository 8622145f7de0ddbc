/**
 * What a simulated device's firmware does between readings: a signal model per device type. The
 * device (device.ts) owns the connection and timers; the model owns the physics and the effect of
 * commands.
 */
import type { MetricValue, MetricValues } from "@bitvelocity/devices";

export type CommandOutcome = { ok: true; result?: Record<string, unknown> } | { ok: false; message: string };

export interface DeviceModel {
  /** The next reading at wall time `nowMs`; the model advances its state by the time since the last one. */
  sample(nowMs: number): MetricValues;
  /** Applies a validated command (set_interval and identify are handled by the device). */
  apply(name: string, params: Record<string, MetricValue>): CommandOutcome;
}

export function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}

/** Rounds to `digits` decimals, then clamps so that rounding never leaves the range. */
export function fixed(v: number, digits: number, min: number, max: number): number {
  const f = 10 ** digits;
  return clamp(Math.round(v * f) / f, min, max);
}

/** Seconds elapsed since the previous sample (the first sample counts as one nominal step). */
export class Clock {
  private last: number | undefined;

  constructor(private readonly nominalS: number) {}

  step(nowMs: number): number {
    const dt = this.last === undefined ? this.nominalS : Math.max(0, (nowMs - this.last) / 1000);
    this.last = nowMs;
    return Math.min(dt, 3600);
  }
}

/** Hour of day (0..24) in UTC, for diurnal cycles. */
export function hourOfDay(nowMs: number): number {
  return (nowMs / 3_600_000) % 24;
}

export const unknownCommand = (name: string): CommandOutcome => ({ ok: false, message: `command ${name} is not supported` });
