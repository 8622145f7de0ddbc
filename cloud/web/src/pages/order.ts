/**
 * One order: lines and totals, its shipping label (tracking number), the checkout saga's timeline
 * (steps, retries, compensations, label), and the order's chat room (support conversation; the
 * bot posts its steps there) with a composer.
 */

import type { Order, TimelineEntry } from "@bitvelocity/api";
import { chatPanel } from "../components/chat-panel.js";
import { scrollTable } from "../components/scroll-table.js";
import { errorBox, loading, panel, pill, stat } from "../components/ui.js";
import { commerceApi, money, ORDER_TONE } from "../lib/commerce-api.js";
import { h, replace } from "../lib/dom.js";
import { clock } from "../lib/format.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";

const STEP_TONE: Record<string, "ok" | "bad" | "warn" | "info" | "muted"> = {
  succeeded: "ok",
  failed: "bad",
  retrying: "warn",
  compensated: "warn",
  started: "info",
};

export function orderPage(id: string): Page {
  const scope = new Scope();
  const detail = h("div", null, loading("Loading the order…"));
  // The room stays while the details refresh (it follows its messages live).
  const el = h("main", { class: "page" }, detail, chatPanel(`order:${id}`, "Order room", scope, { composer: "Message to the order room" }));
  const reload = () =>
    commerceApi
      .order(id)
      .then(({ order, timeline }) => {
        if (!scope.disposed) render(detail, order, timeline);
      })
      .catch((err: unknown) => {
        if (!scope.disposed) replace(detail, errorBox(err));
      });
  void reload();
  // Until the saga and the label are finished the timeline grows: follow it.
  scope.every(1500, () => {
    if (detail.dataset.terminal !== "true") void reload();
  });
  return { el, scope, title: `Order ${id.slice(0, 12)}` };
}

/** What the shipping stat says while there is no tracking number yet. */
const SHIPPING_TEXT: Record<Order["shipping"]["status"], string> = {
  none: "not shipped",
  requested: "label requested",
  retrying: "waiting for the carrier",
  labelled: "labelled",
  failed: "label refused",
};
const SHIPPING_TONE: Partial<Record<Order["shipping"]["status"], string>> = { retrying: "warn", failed: "bad" };

function render(el: HTMLElement, o: Order, timeline: TimelineEntry[]): void {
  const labelPending = o.shipping.status === "requested" || o.shipping.status === "retrying";
  el.dataset.terminal = String(o.status === "cancelled" || (o.status === "confirmed" && !labelPending));
  replace(
    el,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "crumbs" }, h("a", { href: href.orders() }, "Orders")),
      h(
        "div",
        { class: "title-row" },
        h("h1", { class: "mono" }, o.id),
        pill(o.status.replace("_", " "), ORDER_TONE[o.status], "order-status"),
      ),
      o.reason ? h("div", { class: "meta", testid: "order-reason" }, o.reason) : null,
    ),
    h(
      "div",
      { class: "stats" },
      stat("Total", money(o.totalMinor, o.currency), { testid: "order-total", raw: o.totalMinor }),
      stat("Tax", money(o.taxMinor, o.currency)),
      stat("Site", o.siteId),
      stat("Placed by", o.placedBy, { hint: clock(o.placedAt) }),
      stat("Tracking", o.shipping.trackingNumber ?? SHIPPING_TEXT[o.shipping.status], {
        testid: "order-tracking",
        ...(SHIPPING_TONE[o.shipping.status] ? { tone: SHIPPING_TONE[o.shipping.status] } : {}),
        hint: o.shipping.trackingNumber ? "carrier tracking number" : "",
      }),
    ),
    panel(
      "Lines",
      scrollTable(
        "order-lines",
        h(
          "table",
          { class: "table", testid: "order-lines" },
          h("thead", null, h("tr", null, ...["Product", "Quantity", "Unit price", "Line"].map((t) => h("th", null, t)))),
          h(
            "tbody",
            null,
            ...o.lines.map((l) =>
              h(
                "tr",
                null,
                h("td", null, h("div", { class: "strong" }, l.name), h("div", { class: "sub mono" }, l.sku)),
                h("td", null, String(l.quantity)),
                h("td", { class: "nowrap" }, money(l.unitPriceMinor, o.currency)),
                h("td", { class: "nowrap" }, money(l.lineTotalMinor, o.currency)),
              ),
            ),
          ),
        ),
      ),
    ),
    panel(
      "Timeline",
      h(
        "ol",
        { class: "timeline", testid: "order-timeline" },
        ...timeline.map((e) =>
          h(
            "li",
            { testid: "timeline-entry", data: { type: e.type, status: e.status } },
            h("span", { class: "mono nowrap" }, clock(e.at)),
            h("span", { class: "strong" }, e.step),
            pill(e.status, STEP_TONE[e.status] ?? "muted"),
            h("span", { class: "sub" }, e.detail),
          ),
        ),
      ),
    ),
  );
}
