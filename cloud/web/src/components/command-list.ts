/** The device's commands, newest first, with live status (pending → delivered → succeeded/failed/…). */

import type { Command } from "@bitvelocity/api";
import { h, replace, setText } from "../lib/dom.js";
import { ago, toMs } from "../lib/format.js";
import { label } from "../lib/metrics.js";
import { empty, pill } from "./ui.js";

const TONE: Record<string, "ok" | "bad" | "warn" | "info" | "muted"> = {
  pending: "muted",
  delivered: "info",
  succeeded: "ok",
  failed: "bad",
  expired: "warn",
  rejected: "bad",
};
const MAX_ITEMS = 50;

export class CommandList {
  readonly el: HTMLElement;
  private readonly commands = new Map<string, Command>();
  private ages: Array<[HTMLElement, Command]> = [];

  constructor() {
    this.el = h("ol", { class: "command-list", testid: "command-list" });
    this.render();
  }

  set(list: Command[]): void {
    for (const c of list) this.upsert(c, false);
    this.render();
  }

  /** Apply a command event; a status update never moves a command back (events may arrive out of order). */
  upsert(c: Command, render = true): void {
    const prev = this.commands.get(c.id);
    if (prev && (toMs(prev.updatedAt) ?? 0) > (toMs(c.updatedAt) ?? 0)) return;
    this.commands.set(c.id, { ...prev, ...c });
    if (render) this.render();
  }

  tick(now = Date.now()): void {
    for (const [el, c] of this.ages) setText(el, ago(c.createdAt, now));
  }

  private render(): void {
    const list = [...this.commands.values()].sort((a, b) => (toMs(b.createdAt) ?? 0) - (toMs(a.createdAt) ?? 0)).slice(0, MAX_ITEMS);
    this.ages = [];
    if (list.length === 0) {
      replace(this.el, h("li", { class: "command-empty" }, empty("No commands sent to this device yet.")));
      return;
    }
    replace(this.el, ...list.map((c) => this.item(c)));
  }

  private item(c: Command): HTMLElement {
    const age = h("span", { class: "muted" }, ago(c.createdAt));
    this.ages.push([age, c]);
    const params = Object.entries(c.params ?? {})
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(", ");
    const result = c.result === null || c.result === undefined ? "" : typeof c.result === "string" ? c.result : JSON.stringify(c.result);
    return h(
      "li",
      { class: "command-item", testid: "command-item", data: { status: String(c.status), commandId: c.id } },
      h(
        "div",
        { class: "command-line" },
        h("span", { class: "strong" }, label(c.name)),
        params ? h("code", { class: "params" }, params) : null,
        pill(String(c.status), TONE[c.status] ?? "muted", "command-status"),
      ),
      h(
        "div",
        { class: "command-meta" },
        age,
        c.message ? h("span", null, c.message) : null,
        result ? h("code", { class: "result" }, result) : null,
      ),
    );
  }
}
