/** Latest values as cards: value with unit, normal range, out-of-normal highlighted, age ticking. */

import type { LatestValue, MetricDef } from "@bitvelocity/api";
import { h, setText } from "../lib/dom.js";
import { ago, value as fmtValue } from "../lib/format.js";
import { health, label, normalText } from "../lib/metrics.js";

interface Card {
  root: HTMLElement;
  value: HTMLElement;
  age: HTMLElement;
  latest: LatestValue | undefined;
}

export class MetricCards {
  readonly el: HTMLElement;
  private readonly cards = new Map<string, Card>();

  constructor(
    private readonly metrics: MetricDef[],
    private readonly onSelect: (metric: MetricDef) => void,
  ) {
    this.el = h("div", { class: "cards" });
    for (const m of metrics) {
      const value = h("span", { class: "card-value", testid: "metric-value" }, "—");
      const age = h("span", { class: "card-age" }, "");
      const numeric = m.type === "number" || m.type === "integer";
      const root = h(
        "div",
        {
          class: `card ${numeric ? "card-clickable" : ""}`,
          testid: `metric-${m.name}`,
          title: m.description,
          data: { metric: m.name },
          on: numeric ? { click: () => this.onSelect(m) } : undefined,
        },
        h("div", { class: "card-label" }, label(m.name)),
        h("div", { class: "card-main" }, value, m.unit ? h("span", { class: "card-unit" }, m.unit) : null),
        h("div", { class: "card-foot" }, h("span", null, normalText(m) ?? (m.values ? m.values.join(" · ") : m.description)), age),
      );
      this.cards.set(m.name, { root, value, age, latest: undefined });
      this.el.append(root);
    }
  }

  update(latest: Record<string, LatestValue>): void {
    for (const m of this.metrics) {
      const card = this.cards.get(m.name)!;
      const lv = latest[m.name];
      card.latest = lv;
      setText(card.value, lv ? fmtValue(lv.value) : "—");
      const hl = health(m, lv?.value);
      card.root.dataset.health = hl;
      card.root.classList.toggle("card-bad", hl === "low" || hl === "high");
    }
    this.tick();
  }

  select(name: string): void {
    for (const [n, c] of this.cards) c.root.classList.toggle("card-selected", n === name);
  }

  tick(now = Date.now()): void {
    for (const c of this.cards.values()) setText(c.age, c.latest ? ago(c.latest.ts, now) : "no data");
  }
}
