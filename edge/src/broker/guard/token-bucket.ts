/** Token buckets keyed by a string (an IP address, a device id), for rate limits with a burst. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private perSecond: number,
    private burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** New rate and burst for every key from now on (remote configuration, applied hot). */
  retune(perSecond: number, burst: number): void {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Takes one token for key; false when the key is over its rate. */
  take(key: string): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, atMs: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.atMs) / 1000) * this.perSecond);
    b.atMs = t;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      return false;
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    return true;
  }

  /** Forgets buckets that have refilled completely (they behave as new ones), bounding memory. */
  sweep(): void {
    const t = this.now();
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.atMs) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
