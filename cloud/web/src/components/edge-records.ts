/** The edge page's gap records and dead letters, as tables; refreshed when the edge's counters move. */

import type { DeadLetter, Gap } from "@bitvelocity/api";
import { api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, clock, count } from "../lib/format.js";
import { scrollTable } from "./scroll-table.js";
import { empty, errorText, panel, pill } from "./ui.js";

export class EdgeRecords {
  readonly gapsEl: HTMLElement;
  readonly deadEl: HTMLElement;
  private readonly gapsBody = h("div");
  private readonly deadBody = h("div");
  private readonly gapsNote = h("span", { class: "muted" });
  private readonly deadNote = h("span", { class: "muted" });
  private loading = false;
  private signature = "";

  constructor(private readonly edgeId: string) {
    this.gapsEl = panel(h("div", { class: "panel-title" }, h("h2", null, "Gap records"), this.gapsNote), this.gapsBody);
    this.deadEl = panel(h("div", { class: "panel-title" }, h("h2", null, "Dead letters"), this.deadNote), this.deadBody);
  }

  /** Reloads when `signature` (the edge's gap and dead-letter counters) changed, or when forced. */
  refresh(signature: string, force = false): void {
    if (this.loading || (!force && signature === this.signature)) return;
    this.signature = signature;
    this.loading = true;
    void Promise.allSettled([api.gaps(this.edgeId, 100), api.deadLetters(this.edgeId, 100)])
      .then(([gaps, dead]) => {
        if (gaps.status === "fulfilled") this.renderGaps(gaps.value.gaps);
        else replace(this.gapsBody, h("div", { class: "notice notice-muted" }, errorText(gaps.reason)));
        if (dead.status === "fulfilled") this.renderDead(dead.value.deadLetters);
        else replace(this.deadBody, h("div", { class: "notice notice-muted" }, errorText(dead.reason)));
      })
      .finally(() => {
        this.loading = false;
      });
  }

  private renderGaps(gaps: Gap[]): void {
    const lost = gaps.reduce((n, g) => n + g.count, 0);
    replace(
      this.gapsNote,
      gaps.length ? `${count(lost)} readings given up on, latest ${ago(gaps[0]?.receivedAtMs)}` : "none: nothing was lost",
    );
    if (!gaps.length) {
      replace(this.gapsBody, empty("No gaps. Every accepted reading reached the cloud."));
      return;
    }
    const rows = gaps.map((g) =>
      h(
        "tr",
        { class: "row-warn", testid: "gap-row", data: { firstSeq: String(g.firstSeq), lastSeq: String(g.lastSeq) } },
        h("td", { class: "mono" }, String(g.lane)),
        h("td", { class: "mono num" }, `${g.firstSeq}–${g.lastSeq}`),
        h("td", { class: "num strong" }, count(g.count)),
        h("td", { class: "nowrap" }, `${clock(g.fromMs)} → ${clock(g.toMs)}`),
        h("td", null, pill(g.reason, "warn")),
        h("td", { class: "nowrap", title: clock(g.receivedAtMs) }, ago(g.receivedAtMs)),
      ),
    );
    replace(this.gapsBody, table("edge-gaps", ["Lane", "Seq range", "Readings", "Time range", "Reason", "Received"], rows));
  }

  private renderDead(list: DeadLetter[]): void {
    replace(this.deadNote, list.length ? `${count(list.length)} shown, newest first` : "none");
    if (!list.length) {
      replace(this.deadBody, empty("No dead letters. Every reading matched its device profile."));
      return;
    }
    const rows = list.map((d) =>
      h(
        "tr",
        { testid: "dead-letter-row", data: { source: d.source, deviceId: d.deviceId } },
        h("td", null, pill(d.source, d.source === "cloud" ? "info" : "muted")),
        h("td", { class: "mono" }, d.deviceId, d.seq !== null ? h("div", { class: "sub" }, `seq ${d.seq}`) : null),
        h("td", { class: "mono sub" }, d.topic ?? "—"),
        h("td", { class: "text-bad" }, d.reason),
        h("td", { class: "mono sub preview", title: d.payloadPreview }, d.payloadPreview),
        h("td", { class: "nowrap", title: clock(d.timeMs) }, ago(d.timeMs)),
      ),
    );
    replace(this.deadBody, table("edge-dead-letters", ["Source", "Device", "Topic", "Reason", "Payload", "When"], rows));
  }
}

function table(testid: string, head: string[], rows: HTMLElement[]): HTMLElement {
  return scrollTable(
    testid,
    h(
      "table",
      { class: "table", testid },
      h("thead", null, h("tr", null, ...head.map((t) => h("th", null, t)))),
      h("tbody", null, ...rows),
    ),
  );
}
