/**
 * History: /series for 1 h (raw), 24 h (1-minute rollups) or 7 d (1-hour rollups), as avg with a
 * min–max band. Dragging across the chart zooms: the chosen window is re-read at the finest
 * resolution that keeps it to a few thousand points (raw up to 2 h, 1-minute rollups up to 3 d).
 */

import type { MetricDef } from "@bitvelocity/api";
import { api } from "../lib/api.js";
import { h, replace, setText } from "../lib/dom.js";
import { toMs } from "../lib/format.js";
import { TimeChart } from "./chart.js";
import { errorText } from "./ui.js";

const RANGES = [
  { key: "1h", label: "1 h", ms: 3600_000, resolution: "raw" },
  { key: "24h", label: "24 h", ms: 86400_000, resolution: "1m" },
  { key: "7d", label: "7 d", ms: 7 * 86400_000, resolution: "1h" },
] as const;

export class HistoryChart {
  readonly el: HTMLElement;
  private readonly chart = new TimeChart("band", "history-chart", 240, (from, to) => this.zoom(from, to));
  private readonly status = h("span", { class: "muted", testid: "history-status" });
  private readonly reset: HTMLButtonElement;
  private readonly buttons: HTMLButtonElement[];
  private range: (typeof RANGES)[number] = RANGES[0];
  /** The zoomed window, or null for the preset range ending now. */
  private window: { from: number; to: number } | null = null;
  private metric: MetricDef | null = null;
  private request = 0;

  constructor(private readonly deviceId: string) {
    this.buttons = RANGES.map((r) =>
      h("button", { class: "seg", type: "button", testid: `history-${r.key}`, on: { click: () => this.setRange(r) } }, r.label),
    );
    this.reset = h(
      "button",
      { class: "btn btn-ghost", type: "button", testid: "history-reset", on: { click: () => this.setRange(this.range) } },
      "Reset zoom",
    );
    this.reset.hidden = true;
    this.el = h(
      "div",
      { class: "history" },
      h("div", { class: "toolbar" }, h("div", { class: "segmented" }, ...this.buttons), this.reset, this.status),
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
    this.window = null;
    this.mark();
    this.load();
  }

  private mark(): void {
    for (const [i, r] of RANGES.entries()) this.buttons[i]!.classList.toggle("active", r === this.range);
  }

  private zoom(from: number, to: number): void {
    this.window = { from, to };
    this.load();
  }

  private load(): void {
    if (!this.metric) return;
    const id = ++this.request;
    const to = this.window?.to ?? Date.now();
    const from = this.window?.from ?? to - this.range.ms;
    const resolution = this.window ? resolutionFor(to - from) : this.range.resolution;
    this.reset.hidden = this.window === null;
    this.el.dataset.resolution = resolution;
    this.el.dataset.zoomed = String(this.window !== null);
    setText(this.status, "Loading…");
    api
      .series(this.deviceId, { metric: this.metric.name, from, to, resolution })
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
            ? `${rows.length} points · ${n.toLocaleString("en-US")} readings · ${resolution}${this.window ? " · zoomed" : ""}`
            : "No data in this range",
        );
      })
      .catch((err: unknown) => {
        if (id !== this.request) return;
        replace(this.status, h("span", { class: "text-bad" }, errorText(err)));
      });
  }
}

export function resolutionFor(spanMs: number): "raw" | "1m" | "1h" {
  if (spanMs <= 2 * 3600_000) return "raw";
  if (spanMs <= 3 * 86400_000) return "1m";
  return "1h";
}
