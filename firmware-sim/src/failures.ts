/**
 * Failure injection (`failures:` in a scenario): network flaps, reconnect storms, duplicate
 * publishes, malformed payloads, clock jumps, power cycles and slow consumers, on a schedule
 * (`at_s`, `every_s`) or at random (`random_per_min`, seeded). Each firing picks its devices with
 * the scenario's seed, so a run is reproducible.
 */
import { z } from "zod";
import { Rng } from "./prng.js";

export const FAILURE_KINDS = [
  "network_flap",
  "reconnect_storm",
  "duplicate",
  "malformed",
  "clock_jump",
  "power_cycle",
  "slow_consumer",
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export const MALFORMATIONS = ["not_json", "wrong_type", "out_of_range", "missing_values", "oversize"] as const;
export type Malformation = (typeof MALFORMATIONS)[number];

export const failureSchema = z
  .object({
    kind: z.enum(FAILURE_KINDS),
    /** First firing, seconds after the fleet started. */
    at_s: z.number().min(0).optional(),
    /** Fire again every this many seconds. */
    every_s: z.number().positive().optional(),
    /** Fire at random times, on average this often per minute (a Poisson process). */
    random_per_min: z.number().positive().optional(),
    /** Share of the devices hit by one firing (default 1 for reconnect_storm, else 0.1); or `count`. */
    fraction: z.number().min(0).max(1).optional(),
    count: z.number().int().min(1).optional(),
    /** Only devices of the fleet with this id prefix. */
    id_prefix: z.string().optional(),
    /** How long a flap keeps the device off the network, a power cut lasts, a consumer stays slow, duplicates go on. */
    duration_s: z.number().min(0).default(5),
    /** clock_jump: how far (seconds, negative = backwards). */
    jump_s: z.number().default(3600),
    /** malformed: which kind of bad payload (`any` picks one at random each time). */
    malformation: z.enum([...MALFORMATIONS, "any"]).default("any"),
  })
  .strict()
  .refine((f) => f.at_s !== undefined || f.every_s !== undefined || f.random_per_min !== undefined, {
    message: "a failure needs at_s, every_s or random_per_min",
  });

export type FailureSpec = z.output<typeof failureSchema>;

/** What a device must offer to have failures injected into it. */
export interface FailureTarget {
  readonly id: string;
  networkFlap(offMs: number): void;
  dropForStorm(): void;
  duplicateFor(ms: number): void;
  publishMalformed(kind: Malformation): void;
  jumpClock(ms: number): void;
  powerCycle(offMs: number): void;
  slowConsumer(ms: number): void;
}

export interface FailureInjector {
  /** Firings so far, by kind. */
  readonly injected: Record<string, number>;
  stop(): void;
}

export function startFailures(
  specs: readonly FailureSpec[],
  devices: readonly FailureTarget[],
  seed: number,
  onFire?: (kind: FailureKind, deviceIds: string[]) => void,
): FailureInjector {
  const injected: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };

  specs.forEach((spec, i) => {
    const rng = Rng.from(seed, `failure#${i}`);
    const pool = devices.filter((d) => spec.id_prefix === undefined || d.id.startsWith(spec.id_prefix));
    const fire = () => {
      const targets = pick(pool, spec, rng);
      injected[spec.kind] = (injected[spec.kind] ?? 0) + 1;
      const ms = spec.duration_s * 1000;
      for (const d of targets) {
        switch (spec.kind) {
          case "network_flap":
            d.networkFlap(ms);
            break;
          case "reconnect_storm":
            d.dropForStorm();
            break;
          case "duplicate":
            d.duplicateFor(ms);
            break;
          case "malformed":
            d.publishMalformed(spec.malformation === "any" ? rng.pick(MALFORMATIONS) : spec.malformation);
            break;
          case "clock_jump":
            d.jumpClock(spec.jump_s * 1000);
            break;
          case "power_cycle":
            d.powerCycle(ms);
            break;
          case "slow_consumer":
            d.slowConsumer(ms);
            break;
        }
      }
      onFire?.(
        spec.kind,
        targets.map((d) => d.id),
      );
    };
    if (spec.at_s !== undefined || spec.every_s !== undefined) {
      const first = (spec.at_s ?? spec.every_s ?? 0) * 1000;
      const repeat = () => {
        fire();
        if (spec.every_s !== undefined) later(spec.every_s * 1000, repeat);
      };
      later(first, repeat);
    }
    if (spec.random_per_min !== undefined) {
      const meanMs = 60_000 / spec.random_per_min;
      const next = (): void =>
        later(-Math.log(1 - rng.next()) * meanMs, () => {
          fire();
          next();
        });
      next();
    }
  });

  return {
    injected,
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

function pick<T>(pool: readonly T[], spec: FailureSpec, rng: Rng): T[] {
  const share = spec.fraction ?? (spec.kind === "reconnect_storm" ? 1 : 0.1);
  const n = Math.min(pool.length, spec.count ?? Math.max(1, Math.round(pool.length * share)));
  if (n >= pool.length) return [...pool];
  // Partial Fisher-Yates over indices: n distinct devices, seeded.
  const idx = pool.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng.next() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, n).map((i) => pool[i]!);
}
