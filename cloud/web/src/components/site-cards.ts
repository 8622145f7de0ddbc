/** Sites → edges → devices at a glance: one card per site; clicking a site filters the device table. */

import type { Alert, Device, Edge, Site } from "@bitvelocity/api";
import { h, replace } from "../lib/dom.js";
import { count } from "../lib/format.js";
import { href } from "../lib/router.js";
import { backingUp } from "./attention.js";
import { dot } from "./ui.js";

export class SiteCards {
  readonly el = h("div", { class: "site-cards", testid: "site-cards" });

  constructor(private readonly onPick: (siteId: string) => void) {}

  render(sites: Iterable<Site>, edges: Iterable<Edge>, devices: Iterable<Device>, alerts: Alert[], selected: string): void {
    const edgeList = [...edges];
    const bySite = new Map<string, Device[]>();
    for (const d of devices) {
      const list = bySite.get(d.siteId) ?? [];
      list.push(d);
      bySite.set(d.siteId, list);
    }
    const alerting = new Set(alerts.map((a) => a.subjectId));
    const cards = [...sites].map((s) => {
      const ds = bySite.get(s.id) ?? [];
      const es = edgeList.filter((e) => e.siteId === s.id);
      const online = ds.filter((d) => d.online).length;
      const alarms = ds.filter((d) => alerting.has(d.id)).length + es.filter((e) => alerting.has(e.id)).length;
      const bad = es.some((e) => !e.online) || alarms > 0;
      const card = h(
        "div",
        {
          class: `site-card ${bad ? "site-bad" : ""} ${selected === s.id ? "site-selected" : ""}`,
          testid: "site-card",
          data: { siteId: s.id },
        },
        h(
          "button",
          {
            class: "site-head",
            type: "button",
            title: "Show only this site's devices",
            on: { click: () => this.onPick(selected === s.id ? "" : s.id) },
          },
          h("span", { class: "strong" }, s.name),
          h("span", { class: "sub" }, `${online}/${ds.length} devices online${alarms ? ` · ${alarms} alarming` : ""}`),
        ),
        h(
          "ul",
          { class: "site-edges" },
          ...es.map((e) => {
            const n = ds.filter((d) => d.edgeId === e.id);
            return h(
              "li",
              null,
              dot(e.online),
              h("a", { href: href.edge(e.id) }, e.name || e.id),
              h(
                "span",
                { class: `sub ${backingUp(e) ? "text-warn" : ""}` },
                `${n.filter((d) => d.online).length}/${n.length}`,
                e.status ? ` · outbox ${count(e.status.outboxReadings)}` : "",
              ),
            );
          }),
        ),
      );
      return card;
    });
    replace(this.el, ...cards);
  }
}
