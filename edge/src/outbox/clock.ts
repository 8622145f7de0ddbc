/** The outbox's view of time: wall time for the records, monotonic uptime for re-stamping. */

/** A Pi without an RTC boots at 1970; wall time before this is not trusted. */
export const CLOCK_TRUSTED_AFTER_MS = Date.UTC(2024, 0, 1);

export interface OutboxClock {
  /** Wall time, ms since the epoch. */
  now(): number;
  /** Monotonic ms since this boot. */
  uptimeMs(): number;
}

export const systemClock: OutboxClock = { now: () => Date.now(), uptimeMs: () => performance.now() };
