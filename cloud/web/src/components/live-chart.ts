/** The live chart: a bounded window (last 10 minutes) of one device's readings, per numeric metric. */

import type { MetricDef } from "@bitvelocity/api";
import { h } from "../lib/dom.js";
import { toMs } from "../lib/format.js";
import { TimeChart } from "./chart.js";

export const LIVE_WINDOW_MS = 10 * 60 * 1000;
const MAX_POINTS = 6000;

export class LiveChart {
  readonly el: HTMLElement;
  private readonly chart = new TimeChart("line", undefined, 240);
  private readonly points = new Map<string, Array<[number, number]>>();
  private metric: MetricDef | null = null;
  private dirty = false;

  constructor() {
    this.el = h("div", { class: "live-chart", testid: "live-chart" }, this.chart.el);
  }

  setMetric(metric: MetricDef): void {
    this.metric = metric;
    this.chart.setMetric(metric);
    this.redraw();
  }

  /** Add readings (in any order); values that are not numbers are skipped. */
  add(readings: Array<{ ts: number | string; values: Record<string, unknown> }>): void {
    for (const r of readings) {
      const ts = toMs(r.ts);
      if (ts === null) continue;
      for (const [name, v] of Object.entries(r.values ?? {})) {
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        let arr = this.points.get(name);
        if (!arr) {
          arr = [];
          this.points.set(name, arr);
        }
        insertSorted(arr, ts, v);
        if (arr.length > MAX_POINTS) arr.splice(0, arr.length - MAX_POINTS);
        if (name === this.metric?.name) this.dirty = true;
      }
    }
  }

  /** Called on a timer: trims the window and redraws if anything changed (or time moved on). */
  redraw(now = Date.now()): void {
    const cutoff = now - LIVE_WINDOW_MS;
    for (const arr of this.points.values()) {
      let i = 0;
      while (i < arr.length && arr[i]![0] < cutoff) i++;
      if (i) arr.splice(0, i);
    }
    if (!this.metric) return;
    const arr = this.points.get(this.metric.name) ?? [];
    // Pin the x range to the window so the chart scrolls even when a device goes quiet.
    const xs = [cutoff, ...arr.map((p) => p[0]), now];
    const ys = [null, ...arr.map((p) => p[1]), null];
    this.chart.setData(xs, [ys]);
    this.dirty = false;
  }

  get needsRedraw(): boolean {
    return this.dirty;
  }

  destroy(): void {
    this.chart.destroy();
  }
}

function insertSorted(arr: Array<[number, number]>, ts: number, v: number): void {
  const last = arr[arr.length - 1];
  if (!last || last[0] < ts) {
    arr.push([ts, v]);
    return;
  }
  let i = arr.length - 1;
  while (i >= 0 && arr[i]![0] > ts) i--;
  if (i >= 0 && arr[i]![0] === ts) arr[i] = [ts, v];
  else arr.splice(i + 1, 0, [ts, v]);
}
