/**
 * The run over time (`--stats-file`): one JSON line per second with the counters and the
 * latency percentiles of that second alone, for plots (bench/plot.mjs) and for spotting when a
 * failure injection hit.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { ConfigError } from "@bitvelocity/common";
import type { FleetStats, LatencyHistogram } from "./stats.js";

export interface SeriesPoint {
  /** Wall time of the sample (ms since the epoch). */
  readonly t: number;
  readonly elapsedS: number;
  readonly connected: number;
  readonly sent: number;
  readonly acked: number;
  readonly errors: number;
  /** Acknowledged per second over the last interval. */
  readonly ackedPerS: number;
  /** Publish → acknowledgement latency over the last interval. */
  readonly latencyMs: { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly failures: Readonly<Record<string, number>>;
}

export class StatsSeries {
  private last: { t: number; acked: number } | undefined;

  constructor(readonly file: string) {
    try {
      writeFileSync(file, "");
    } catch (err) {
      throw new ConfigError([`stats file ${file}: cannot write: ${(err as Error).message}`]);
    }
  }

  /** Appends one point; `window` holds the latencies since the previous point. */
  sample(s: FleetStats, window: LatencyHistogram): SeriesPoint {
    const t = Date.now();
    const dt = this.last ? (t - this.last.t) / 1000 : s.elapsedS;
    const rate = dt > 0 ? (s.acked - (this.last?.acked ?? 0)) / dt : 0;
    this.last = { t, acked: s.acked };
    const w = window.summary();
    const point: SeriesPoint = {
      t,
      elapsedS: s.elapsedS,
      connected: s.connected,
      sent: s.sent,
      acked: s.acked,
      errors: s.errors,
      ackedPerS: Math.round(rate * 10) / 10,
      latencyMs: { count: w.count, p50: w.p50, p99: w.p99, max: w.max },
      failures: s.failures,
    };
    appendFileSync(this.file, `${JSON.stringify(point)}\n`);
    return point;
  }
}
