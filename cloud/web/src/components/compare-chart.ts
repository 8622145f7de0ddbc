/**
 * "Compare with peers": one metric of up to 20 devices of the same type on the same edge, live,
 * as one uPlot with a series per device (this device drawn in the accent colour, on top). Each
 * device keeps a ring of one slot per second over the window, so aligning 20 series for uPlot
 * costs 600 × 20 copies, not a merge of every timestamp; the chart redraws at most once a frame.
 */

import type { LiveReading, MetricDef } from "@bitvelocity/api";
import uPlot from "uplot";
import { h } from "../lib/dom.js";
import { num, toMs } from "../lib/format.js";
import { ACCENT, AXIS, timeTick } from "./chart.js";

export const MAX_PEERS = 20;
const SLOT_MS = 1000;
const WINDOW_SLOTS = 600;
const PALETTE = ["#58a6ff", "#3fb950", "#d2a8ff", "#ff7b72", "#79c0ff", "#56d364", "#e3b341", "#f778ba", "#a5d6ff", "#7ee787"];

export class CompareChart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private readonly observer: ResizeObserver;
  /** deviceId → value per slot (slot = floor(ts / 1 s) mod window) and the slot's second */
  private readonly rings = new Map<string, { values: Float64Array; at: Float64Array }>();
  private ids: string[] = [];
  private metric: MetricDef | null = null;
  private frame = 0;

  constructor(
    private readonly selfId: string,
    private readonly height = 240,
  ) {
    this.el = h("div", { class: "chart compare-chart", testid: "compare-chart" });
    this.observer = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height }));
    this.observer.observe(this.el);
  }

  /** Which devices to draw (this one first) and which metric; rebuilds the chart. */
  configure(ids: string[], metric: MetricDef): void {
    // Peers first and this device last, so uPlot draws it on top.
    this.ids = [...ids.filter((i) => i !== this.selfId).slice(0, MAX_PEERS - 1), this.selfId];
    this.metric = metric;
    this.el.dataset.series = String(this.ids.length);
    for (const id of [...this.rings.keys()]) if (!this.ids.includes(id)) this.rings.delete(id);
    this.build();
  }

  get seriesCount(): number {
    return this.ids.length;
  }

  add(batch: LiveReading[]): void {
    const name = this.metric?.name;
    if (!name) return;
    let changed = false;
    for (const r of batch) {
      const v = r.values[name];
      if (typeof v !== "number" || !this.ids.includes(r.deviceId)) continue;
      const ts = toMs(r.ts);
      if (ts === null) continue;
      let ring = this.rings.get(r.deviceId);
      if (!ring) {
        ring = { values: new Float64Array(WINDOW_SLOTS).fill(Number.NaN), at: new Float64Array(WINDOW_SLOTS) };
        this.rings.set(r.deviceId, ring);
      }
      const second = Math.floor(ts / SLOT_MS);
      const slot = second % WINDOW_SLOTS;
      ring.values[slot] = v;
      ring.at[slot] = second;
      changed = true;
    }
    if (changed) this.schedule();
  }

  /** Redraws on the next animation frame (coalesces bursts of readings into one draw). */
  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private draw(now = Date.now()): void {
    if (!this.plot) return;
    const last = Math.floor(now / SLOT_MS);
    const first = last - WINDOW_SLOTS + 1;
    const xs = new Array<number>(WINDOW_SLOTS);
    for (let i = 0; i < WINDOW_SLOTS; i++) xs[i] = (first + i) * (SLOT_MS / 1000);
    const data: (number | null)[][] = [xs];
    for (const id of this.ids) {
      const ring = this.rings.get(id);
      const ys = new Array<number | null>(WINDOW_SLOTS).fill(null);
      if (ring) {
        for (let i = 0; i < WINDOW_SLOTS; i++) {
          const second = first + i;
          const slot = second % WINDOW_SLOTS;
          if (ring.at[slot] === second && !Number.isNaN(ring.values[slot]!)) ys[i] = ring.values[slot]!;
        }
      }
      data.push(ys);
    }
    this.plot.setData(data as uPlot.AlignedData);
  }

  private width(): number {
    return Math.max(280, Math.floor(this.el.clientWidth || 600));
  }

  private build(): void {
    this.plot?.destroy();
    this.plot = null;
    const m = this.metric;
    if (!m) return;
    const unit = m.unit ? ` ${m.unit}` : "";
    const series: uPlot.Series[] = [{}];
    for (const [i, id] of this.ids.entries()) {
      const self = id === this.selfId;
      series.push({
        label: id,
        stroke: self ? ACCENT : `${PALETTE[i % PALETTE.length]}99`,
        width: self ? 2.5 : 1,
        spanGaps: true,
        points: { show: false },
        value: (_u, v) => (v === null || v === undefined ? "—" : `${num(v)}${unit}`),
      });
    }
    const empty = [[], ...this.ids.map(() => [])] as unknown as uPlot.AlignedData;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: this.height,
        series,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: { x: { time: true } },
        axes: [
          {
            ...AXIS,
            font: "12px system-ui, sans-serif",
            values: (u, splits) => splits.map((v) => timeTick(v, (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0))),
          },
          { ...AXIS, font: "12px system-ui, sans-serif", size: 64, values: (_u, splits) => splits.map((v) => num(v)) },
        ],
      },
      empty,
      this.el,
    );
    this.draw();
  }
}
