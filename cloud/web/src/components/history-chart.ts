/** History: /series for 1 h (raw), 24 h (1-minute rollups) or 7 d (1-hour rollups), as avg with a min–max band. */
import { api } from "../lib/api.js";
import { h, replace, setText } from "../lib/dom.js";
import { toMs } from "../lib/format.js";
import type { MetricDef } from "../lib/types.js";
import { TimeChart } from "./chart.js";
import { errorText } from "./ui.js";

const RANGES = [
  { key: "1h", label: "1 h", ms: 3600_000, resolution: "raw" },
  { key: "24h", label: "24 h", ms: 86400_000, resolution: "1m" },
  { key: "7d", label: "7 d", ms: 7 * 86400_000, resolution: "1h" },
] as const;

export class HistoryChart {
  readonly el: HTMLElement;
  private readonly chart = new TimeChart("band", "history-chart", 240);
  private readonly status = h("span", { class: "muted" });
  private readonly buttons: HTMLButtonElement[];
  private range: (typeof RANGES)[number] = RANGES[0];
  private metric: MetricDef | null = null;
  private request = 0;

  constructor(private readonly deviceId: string) {
    this.buttons = RANGES.map((r) =>
      h("button", { class: "seg", type: "button", testid: `history-${r.key}`, on: { click: () => this.setRange(r) } }, r.label),
    );
    this.el = h(
      "div",
      { class: "history" },
      h("div", { class: "toolbar" }, h("div", { class: "segmented" }, ...this.buttons), this.status),
      this.chart.el,
    );
    this.mark();
  }

  setMetric(metric: MetricDef): void {
    this.metric = metric;
    this.chart.setMetric(metric);
    this.load();
  }

  destroy(): void {
    this.request++;
    this.chart.destroy();
  }

  private setRange(r: (typeof RANGES)[number]): void {
    this.range = r;
    this.mark();
    this.load();
  }

  private mark(): void {
    for (const [i, r] of RANGES.entries()) this.buttons[i]!.classList.toggle("active", r === this.range);
  }

  private load(): void {
    if (!this.metric) return;
    const id = ++this.request;
    const to = Date.now();
    const from = to - this.range.ms;
    setText(this.status, "Loading…");
    api
      .series(this.deviceId, { metric: this.metric.name, from, to, resolution: this.range.resolution })
      .then(({ points }) => {
        if (id !== this.request) return;
        const rows = points
          .map((p) => ({ ...p, ms: toMs(p.ts) }))
          .filter((p) => p.ms !== null)
          .sort((a, b) => a.ms! - b.ms!);
        const xs = [from, ...rows.map((p) => p.ms!), to];
        const pick = (f: (p: (typeof rows)[number]) => number | null) => [null, ...rows.map(f), null];
        this.chart.setData(xs, [pick((p) => p.avg), pick((p) => p.min), pick((p) => p.max)]);
        const n = rows.reduce((s, p) => s + (p.count ?? 0), 0);
        setText(
          this.status,
          rows.length
            ? `${rows.length} points · ${n.toLocaleString("en-US")} readings · ${this.range.resolution}`
            : "No data in this range",
        );
      })
      .catch((err: unknown) => {
        if (id !== this.request) return;
        replace(this.status, h("span", { class: "text-bad" }, errorText(err)));
      });
  }
}
