/** The fleet's edge list: link state, outbox backlog and drain, offline edges first. */

import type { Edge } from "@bitvelocity/api";
import { h, replace, setText } from "../lib/dom.js";
import { ago, bytes, count, duration } from "../lib/format.js";
import { href } from "../lib/router.js";
import { scrollTable } from "./scroll-table.js";
import { dot, empty, pill } from "./ui.js";

export class EdgesTable {
  readonly el: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private seenCells: Array<[HTMLElement, Edge]> = [];

  constructor(private readonly siteName: (id: string) => string) {
    this.body = h("tbody");
    this.el = scrollTable(
      "Edges",
      h(
        "table",
        { class: "table", testid: "fleet-edges" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { class: "col-dot" }),
            h("th", null, "Edge"),
            h("th", null, "Link"),
            h("th", { class: "num" }, "Outbox"),
            h("th", { class: "num hide-sm" }, "Oldest"),
            h("th", { class: "num hide-sm" }, "Drain / ETA"),
            h("th", { class: "num" }, "Dead letters"),
            h("th", { class: "num hide-sm" }, "Devices"),
          ),
        ),
        this.body,
      ),
    );
  }

  render(edges: Iterable<Edge>): void {
    const list = [...edges].sort((a, b) => Number(a.online) - Number(b.online) || backlog(b) - backlog(a) || a.name.localeCompare(b.name));
    this.seenCells = [];
    if (list.length === 0) {
      const td = h("td", null, empty("No edges have connected yet."));
      td.colSpan = 8;
      replace(this.body, h("tr", null, td));
      return;
    }
    replace(this.body, ...list.map((e) => this.row(e)));
  }

  tick(now = Date.now()): void {
    for (const [cell, e] of this.seenCells) setText(cell, linkText(e, now));
  }

  private row(e: Edge): HTMLTableRowElement {
    const s = e.status;
    const seen = h("span", { class: "sub" }, linkText(e));
    this.seenCells.push([seen, e]);
    const dead = s?.deadLetters ?? 0;
    return h(
      "tr",
      { class: e.online ? (dead > 0 ? "row-warn" : "") : "row-bad", testid: "edge-row", data: { edgeId: e.id, online: String(e.online) } },
      h("td", { class: "col-dot" }, dot(e.online)),
      h(
        "td",
        null,
        h("a", { class: "strong", href: href.edge(e.id) }, e.name || e.id),
        h("div", { class: "sub" }, this.siteName(e.siteId)),
      ),
      h("td", null, e.online ? pill("online", "ok") : pill("offline", "bad"), h("div", null, seen)),
      h("td", { class: "num" }, s ? count(s.outboxReadings) : "—", h("div", { class: "sub" }, s ? bytes(s.outboxBytes) : "")),
      h("td", { class: "num hide-sm" }, s ? duration(s.oldestAgeSeconds) : "—"),
      h(
        "td",
        { class: "num hide-sm" },
        s ? `${count(Math.round(s.drainRate))}/s` : "—",
        h("div", { class: "sub" }, s && s.outboxReadings > 0 ? `ETA ${duration(s.etaSeconds)}` : ""),
      ),
      h("td", { class: `num ${dead > 0 ? "text-warn" : ""}` }, s ? count(dead) : "—"),
      h("td", { class: "num hide-sm" }, s ? count(s.devicesConnected) : "—"),
    );
  }
}

function backlog(e: Edge): number {
  return e.status?.outboxReadings ?? 0;
}

function linkText(e: Edge, now = Date.now()): string {
  if (e.online) return `since ${ago(e.connectedAt, now).replace(/ ago$/, "")}`;
  return e.lastSeen === null ? "never connected" : `seen ${ago(e.lastSeen, now)}`;
}
