/**
 * The read side of the line-protocol store, against VictoriaMetrics' HTTP API: raw history
 * through /api/v1/export (exact samples, ms timestamps, dedup applied) and the newest value per
 * metric through MetricsQL's tlast_over_time / last_over_time on /api/v1/query.
 */
import { BvError } from "@bitvelocity/common";
import { type ExportedSeries, parseExport } from "./influx-codec.js";

/** How far back latest() looks for a metric's newest value. */
const LATEST_LOOKBACK = "10y";

export interface InstantSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export class VmReader {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Samples of the matching series with from <= ts < to (ms). */
  async export(match: string, from: number | undefined, to: number | undefined): Promise<ExportedSeries[]> {
    const params = new URLSearchParams({ "match[]": match });
    params.set("start", String(Math.max(0, from ?? 0) / 1000));
    // export's end is inclusive; the store's ranges are [from, to).
    if (to !== undefined) params.set("end", String((to - 1) / 1000));
    else params.set("end", String((Date.now() + 366 * 86_400_000) / 1000));
    const text = await this.post("/api/v1/export", params);
    const series = parseExport(text);
    if (from === undefined && to === undefined) return series;
    // Guard against an end rounded by the server: keep the contract's half-open range exact.
    return series.map((s) => {
      const keep = s.timestamps.map((ts) => (from === undefined || ts >= from) && (to === undefined || ts < to));
      return { metric: s.metric, values: s.values.filter((_, i) => keep[i]), timestamps: s.timestamps.filter((_, i) => keep[i]) };
    });
  }

  /** Per series: the newest sample's timestamp (ms) and value, looking back LATEST_LOOKBACK. */
  async latest(selector: string): Promise<{ metric: Record<string, string>; ts: number; value: number }[]> {
    // A day ahead so readings stamped slightly in the future (skewed device clocks) count too.
    const time = String(Math.floor(Date.now() / 1000) + 86_400);
    const [times, values] = await Promise.all([
      this.instant(`tlast_over_time(${selector}[${LATEST_LOOKBACK}]) keep_metric_names`, time),
      this.instant(`last_over_time(${selector}[${LATEST_LOOKBACK}]) keep_metric_names`, time),
    ]);
    const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
    const byKey = new Map(values.map((v) => [key(v.metric), v.value]));
    return times.flatMap((t) => {
      const value = byKey.get(key(t.metric));
      return value === undefined ? [] : [{ metric: t.metric, ts: Math.round(t.value * 1000), value }];
    });
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(this.timeoutMs) });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Makes recent writes searchable at once, so the next de-duplication check sees them. */
  async forceFlush(): Promise<void> {
    await this.post("/internal/force_flush", new URLSearchParams(), "GET");
  }

  private async instant(query: string, time: string): Promise<InstantSample[]> {
    const text = await this.post("/api/v1/query", new URLSearchParams({ query, time, nocache: "1" }));
    const body = JSON.parse(text) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  private async post(path: string, params: URLSearchParams, method = "POST"): Promise<string> {
    let res: Response;
    try {
      res =
        method === "GET"
          ? await fetch(`${this.url}${path}?${params}`, { signal: AbortSignal.timeout(this.timeoutMs) })
          : await fetch(`${this.url}${path}`, { method, body: params, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new BvError("TELEMETRY_UNAVAILABLE", "transient", `VictoriaMetrics at ${this.url} is unreachable`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new BvError("TELEMETRY_QUERY_FAILED", "transient", `VictoriaMetrics ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  }
}
