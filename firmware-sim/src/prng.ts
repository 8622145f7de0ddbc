/**
 * A small seeded PRNG (mulberry32) so that a scenario's signals and jitter are reproducible:
 * the same seed and device id give the same sequence on every run.
 */
export type Random = () => number;

/** mulberry32: 32-bit state, period 2^32, good enough for simulated noise. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string mixed with a numeric seed: one independent stream per device. */
export function seedFor(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Helpers over a Random: ranges, gaussian noise, chance. */
export class Rng {
  constructor(readonly next: Random) {}

  static from(seed: number, key: string): Rng {
    return new Rng(mulberry32(seedFor(seed, key)));
  }

  uniform(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  int(min: number, max: number): number {
    return Math.floor(this.uniform(min, max + 1));
  }

  /** Standard normal via Box-Muller, scaled by `sd`. */
  gaussian(sd = 1): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}
