/** The fleet's device table: attention first (offline, then out-of-normal), a ticking "last seen". */

import type { Device, DeviceType } from "@bitvelocity/api";
import { h, replace, setText } from "../lib/dom.js";
import { ago } from "../lib/format.js";
import { isAbnormal, label, withUnit } from "../lib/metrics.js";
import { href } from "../lib/router.js";
import { dot, empty } from "./ui.js";

export interface DeviceFilter {
  q: string;
  site: string;
  type: string;
  state: "" | "online" | "offline" | "alarming";
}

const MAX_ROWS = 500;
const MAX_CHIPS = 4;

export function matches(d: Device, f: DeviceFilter, alerting: ReadonlySet<string> = new Set()): boolean {
  if (f.state === "alarming" && !alerting.has(d.id)) return false;
  if (f.site && d.siteId !== f.site) return false;
  if (f.type && d.type !== f.type) return false;
  if (f.state === "online" && !d.online) return false;
  if (f.state === "offline" && d.online) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (![d.id, d.name, d.type, d.edgeId, d.siteId].some((s) => s?.toLowerCase().includes(q))) return false;
  }
  return true;
}

function abnormalCount(d: Device, t: DeviceType | undefined): number {
  if (!t) return 0;
  return t.metrics.filter((m) => isAbnormal(m, d.latest?.[m.name]?.value)).length;
}

/** Attention first: alarming, then offline, then out of the normal range, then the rest. */
function rank(d: Device, t: DeviceType | undefined, alerting: ReadonlySet<string>): number {
  if (alerting.has(d.id)) return 0;
  if (!d.online) return 1;
  return abnormalCount(d, t) > 0 ? 2 : 3;
}

export class DevicesTable {
  readonly el: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly footer: HTMLElement;
  private lastSeenCells: Array<[HTMLElement, Device]> = [];

  constructor(
    private readonly types: Map<string, DeviceType>,
    private readonly siteName: (id: string) => string,
  ) {
    this.body = h("tbody");
    this.footer = h("div", { class: "table-foot muted" });
    const table = h(
      "table",
      { class: "table", testid: "fleet-devices" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "col-dot" }),
          h("th", null, "Device"),
          h("th", { class: "hide-sm" }, "Type"),
          h("th", { class: "hide-sm" }, "Site / edge"),
          h("th", null, "Last seen"),
          h("th", null, "Latest values"),
        ),
      ),
      this.body,
    );
    this.el = h(
      "div",
      { class: "flush" },
      h("div", { class: "table-wrap", role: "region", "aria-label": "Devices", tabindex: "0" }, table),
      this.footer,
    );
  }

  render(devices: Iterable<Device>, filter: DeviceFilter, alerting: ReadonlySet<string> = new Set()): void {
    const all = [...devices];
    const shown = all.filter((d) => matches(d, filter, alerting));
    shown.sort((a, b) => {
      const ta = this.types.get(a.type);
      const tb = this.types.get(b.type);
      return rank(a, ta, alerting) - rank(b, tb, alerting) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
    });
    this.lastSeenCells = [];
    const rows = shown.slice(0, MAX_ROWS).map((d) => this.row(d, alerting.has(d.id)));
    replace(this.body, ...rows);
    if (shown.length === 0) {
      const td = h("td", { class: "empty-cell" }, empty(all.length ? "No device matches these filters." : "No devices registered yet."));
      td.colSpan = 6;
      replace(this.body, h("tr", null, td));
    }
    setText(
      this.footer,
      shown.length > MAX_ROWS
        ? `Showing ${MAX_ROWS} of ${shown.length} matching devices (${all.length} total) — refine the search.`
        : `${shown.length} of ${all.length} devices`,
    );
  }

  /** Refresh the relative times without rebuilding rows. */
  tick(now = Date.now()): void {
    for (const [cell, d] of this.lastSeenCells) setText(cell, d.online && !d.lastSeen ? "now" : ago(d.lastSeen, now));
  }

  private row(d: Device, alarming: boolean): HTMLTableRowElement {
    const t = this.types.get(d.type);
    const seen = h("span", null, ago(d.lastSeen));
    this.lastSeenCells.push([seen, d]);
    const chips = (
      t?.metrics ?? Object.keys(d.latest ?? {}).map((name) => ({ name, unit: "", type: "number" }) as DeviceType["metrics"][number])
    )
      .filter((m) => d.latest?.[m.name] !== undefined)
      .slice(0, MAX_CHIPS)
      .map((m) => {
        const v = d.latest[m.name]!.value;
        return h(
          "span",
          { class: `chip ${isAbnormal(m, v) ? "chip-bad" : ""}`, title: label(m.name) },
          h("span", { class: "chip-k" }, label(m.name)),
          h("span", { class: "chip-v" }, withUnit(m, v)),
        );
      });
    const attention = alarming || !d.online ? "row-bad" : abnormalCount(d, t) > 0 ? "row-warn" : "";
    const tr = h(
      "tr",
      { class: attention, testid: "device-row", data: { deviceId: d.id, online: String(d.online), alarming: String(alarming) } },
      h("td", { class: "col-dot" }, dot(d.online)),
      h(
        "td",
        null,
        h("a", { class: "strong", href: href.device(d.id) }, d.name || d.id),
        alarming ? h("span", { class: "pill pill-bad pill-sm" }, "alarm") : null,
        h("div", { class: "sub mono" }, d.id),
      ),
      h("td", { class: "hide-sm" }, t?.name ?? d.type),
      h("td", { class: "hide-sm" }, this.siteName(d.siteId), h("div", { class: "sub" }, h("a", { href: href.edge(d.edgeId) }, d.edgeId))),
      h("td", { class: "nowrap" }, seen),
      h("td", null, chips.length ? h("div", { class: "chips" }, ...chips) : h("span", { class: "muted" }, "no data")),
    );
    // The whole row opens the device; links inside it (the edge) keep their own target.
    tr.classList.add("clickable");
    tr.addEventListener("click", (e) => {
      if (!(e.target instanceof Element && e.target.closest("a"))) location.hash = href.device(d.id);
    });
    return tr;
  }
}
