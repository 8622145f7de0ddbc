/** A uPlot time-series chart themed for the dashboard, sized to its container, with the normal band shaded. */

import type { MetricDef } from "@bitvelocity/api";
import uPlot from "uplot";
import { h } from "../lib/dom.js";
import { num } from "../lib/format.js";

export const AXIS = {
  stroke: "#8b95a5",
  grid: { stroke: "rgba(255,255,255,0.06)", width: 1 },
  ticks: { stroke: "rgba(255,255,255,0.1)", width: 1 },
};
export const ACCENT = "#f5a524";

export type ChartKind = "line" | "band";

export class TimeChart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private readonly observer: ResizeObserver;
  private data: uPlot.AlignedData = [[]];
  private metric: MetricDef | null = null;

  constructor(
    private readonly kind: ChartKind,
    testid?: string,
    private readonly height = 260,
    /** When set, dragging across the chart asks for that time range instead of zooming locally. */
    private readonly onZoom?: (fromMs: number, toMs: number) => void,
  ) {
    this.el = h("div", { class: "chart", testid });
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.el);
  }

  /** Rebuild for another metric (unit and normal band change). */
  setMetric(metric: MetricDef): void {
    this.metric = metric;
    this.plot?.destroy();
    this.plot = null;
    this.build();
  }

  /** xs in epoch ms; ys one array (line) or [avg, min, max] (band). */
  setData(xs: number[], ys: Array<Array<number | null>>): void {
    this.data = [xs.map((x) => x / 1000), ...ys] as uPlot.AlignedData;
    if (!this.plot) this.build();
    else this.plot.setData(this.data);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private width(): number {
    return Math.max(280, Math.floor(this.el.clientWidth || this.el.getBoundingClientRect().width || 600));
  }

  private resize(): void {
    if (this.plot) this.plot.setSize({ width: this.width(), height: this.height });
  }

  private selected(u: uPlot): void {
    const range = zoomRange(u);
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (range) this.onZoom?.(range[0], range[1]);
  }

  private build(): void {
    if (!this.metric) return;
    const m = this.metric;
    const unit = m.unit ? ` ${m.unit}` : "";
    const fmt = (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : `${num(v)}${unit}`);
    const series: uPlot.Series[] = [
      { value: (_u, v) => (v === null || v === undefined ? "—" : new Date(v * 1000).toLocaleString(undefined, { hour12: false })) },
      { label: this.kind === "band" ? "avg" : m.name, stroke: ACCENT, width: 2, value: fmt, points: { show: false } },
    ];
    const bands: uPlot.Band[] = [];
    if (this.kind === "band") {
      series.push({ label: "min", stroke: "rgba(245,165,36,0.35)", width: 1, value: fmt, points: { show: false } });
      series.push({ label: "max", stroke: "rgba(245,165,36,0.35)", width: 1, value: fmt, points: { show: false } });
      bands.push({ series: [3, 2], fill: "rgba(245,165,36,0.12)" });
    } else {
      series[1]!.fill = "rgba(245,165,36,0.08)";
    }
    if (this.data.length !== series.length) this.data = [this.data[0] ?? [], ...series.slice(1).map(() => [])] as uPlot.AlignedData;
    const opts: uPlot.Options = {
      width: this.width(),
      height: this.height,
      series,
      bands,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false, setScale: !this.onZoom } },
      scales: { x: { time: true }, y: { auto: true, range: (_u, min, max) => padRange(min, max, m) } },
      axes: [
        {
          ...AXIS,
          font: "12px system-ui, sans-serif",
          values: (u, splits) => splits.map((v) => timeTick(v, (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0))),
        },
        { ...AXIS, font: "12px system-ui, sans-serif", size: 64, values: (_u, splits) => splits.map((v) => num(v)) },
      ],
      hooks: {
        drawClear: [(u) => drawNormalBand(u, m)],
        setSelect: this.onZoom ? [(u) => this.selected(u)] : [],
      },
    };
    this.plot = new uPlot(opts, this.data, this.el);
  }
}

export function zoomRange(u: uPlot): [number, number] | null {
  if (u.select.width < 4) return null;
  const from = u.posToVal(u.select.left, "x") * 1000;
  const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
  return to > from ? [Math.floor(from), Math.ceil(to)] : null;
}

/** 24-hour ticks; dates once the window spans days. `v` and `span` in seconds. */
export function timeTick(v: number, span: number): string {
  const d = new Date(v * 1000);
  const hm = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  if (span > 2 * 86400) return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${hm}`;
  if (span < 300) return d.toLocaleTimeString(undefined, { hour12: false });
  return hm;
}

function padRange(min: number | null, max: number | null, m: MetricDef): uPlot.Range.MinMax {
  let lo = min ?? m.normal?.min ?? 0;
  let hi = max ?? m.normal?.max ?? 1;
  if (m.normal) {
    // Keep the normal band in view so an operator sees how far off a value is.
    lo = Math.min(lo, m.normal.min);
    hi = Math.max(hi, m.normal.max);
  }
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

function drawNormalBand(u: uPlot, m: MetricDef): void {
  if (!m.normal) return;
  const top = u.valToPos(m.normal.max, "y", true);
  const bottom = u.valToPos(m.normal.min, "y", true);
  const { left, width } = u.bbox;
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = "rgba(46,160,67,0.08)";
  ctx.fillRect(left, top, width, bottom - top);
  ctx.strokeStyle = "rgba(46,160,67,0.35)";
  ctx.setLineDash([4, 4]);
  ctx.lineWidth = 1;
  for (const y of [top, bottom]) {
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
  }
  ctx.restore();
}
