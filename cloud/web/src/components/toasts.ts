/** Toasts: a card slides in at the corner for each new alert; click opens its subject, × closes it. */

import type { Alert } from "@bitvelocity/api";
import { activeAlerts } from "../lib/alerts.js";
import { h } from "../lib/dom.js";
import { href } from "../lib/router.js";
import type { Scope } from "../lib/scope.js";

const SHOW_MS = 8000;
const MAX_SHOWN = 4;

export function toasts(scope: Scope): HTMLElement {
  const el = h("div", { class: "toasts", role: "status", "aria-live": "polite", testid: "toasts" });
  const show = (a: Alert) => {
    const close = () => {
      window.clearTimeout(timer);
      t.classList.add("toast-out");
      window.setTimeout(() => t.remove(), 200);
    };
    const t = h(
      "div",
      { class: `toast toast-${a.severity}`, testid: "toast", data: { alertId: a.id, severity: a.severity } },
      h(
        "a",
        { class: "toast-body", href: a.subjectKind === "edge" ? href.edge(a.subjectId) : href.device(a.subjectId) },
        h("div", { class: "toast-title" }, `${a.severity.toUpperCase()} · ${a.ruleName}`),
        h("div", { class: "toast-text" }, a.message),
      ),
      h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", on: { click: () => close() } }, "×"),
    );
    const timer = window.setTimeout(close, SHOW_MS);
    el.prepend(t);
    while (el.children.length > MAX_SHOWN) el.lastElementChild?.remove();
  };
  scope.add(activeAlerts.onNew(show));
  return el;
}
