/**
 * "Needs attention first": alerts, offline edges, outboxes backing up, offline devices — the few
 * things an operator should look at before anything else, worst first.
 */

import type { Alert, Device, Edge } from "@bitvelocity/api";
import { h, replace } from "../lib/dom.js";
import { count, duration } from "../lib/format.js";
import { href } from "../lib/router.js";
import { pill } from "./ui.js";

/** An outbox this old or this deep is backing up (the edge cannot keep up or cannot reach us). */
export const BACKLOG_AGE_S = 60;
export const BACKLOG_READINGS = 1000;

export function backingUp(e: Edge): boolean {
  const s = e.status;
  return s !== null && (s.oldestAgeSeconds > BACKLOG_AGE_S || s.outboxReadings > BACKLOG_READINGS);
}

interface Item {
  rank: number;
  tone: "bad" | "warn";
  tag: string;
  text: string;
  link: string;
}

const MAX_ITEMS = 8;

export class Attention {
  readonly el = h("div", { class: "attention", testid: "attention" });

  render(alerts: Alert[], edges: Iterable<Edge>, devices: Iterable<Device>): void {
    const items: Item[] = [];
    for (const a of alerts) {
      items.push({
        rank: a.state === "open" ? (a.severity === "critical" ? 0 : 1) : 4,
        tone: a.severity === "critical" ? "bad" : "warn",
        tag: a.state === "open" ? "alarm" : "acked",
        text: a.message,
        link: a.subjectKind === "edge" ? href.edge(a.subjectId) : href.device(a.subjectId),
      });
    }
    for (const e of edges) {
      if (!e.online)
        items.push({ rank: 2, tone: "bad", tag: "edge offline", text: `${e.name || e.id} is not connected`, link: href.edge(e.id) });
      else if (backingUp(e)) {
        const s = e.status!;
        items.push({
          rank: 3,
          tone: "warn",
          tag: "outbox",
          text: `${e.name || e.id}: ${count(s.outboxReadings)} queued, oldest ${duration(s.oldestAgeSeconds)}${s.outboxReadings > 0 && s.drainRate > 0 ? `, ETA ${duration(s.etaSeconds)}` : ""}`,
          link: href.edge(e.id),
        });
      }
    }
    const offline: Device[] = [];
    for (const d of devices) if (!d.online) offline.push(d);
    for (const d of offline.slice(0, MAX_ITEMS)) {
      items.push({ rank: 5, tone: "bad", tag: "offline", text: `${d.name || d.id} (${d.id})`, link: href.device(d.id) });
    }
    items.sort((a, b) => a.rank - b.rank);
    if (items.length === 0) {
      replace(this.el, h("div", { class: "attention-ok" }, "✓ All clear: every edge connected, no alarms, outboxes draining."));
      return;
    }
    const shown = items.slice(0, MAX_ITEMS);
    const more = items.length - shown.length + Math.max(0, offline.length - MAX_ITEMS);
    replace(
      this.el,
      ...shown.map((i) =>
        h(
          "a",
          { class: `attention-item attention-${i.tone}`, href: i.link, testid: "attention-item", data: { tag: i.tag } },
          pill(i.tag, i.tone),
          h("span", null, i.text),
        ),
      ),
      more > 0 ? h("div", { class: "muted" }, `and ${more} more`) : null,
    );
  }
}
