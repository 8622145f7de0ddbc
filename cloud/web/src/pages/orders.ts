import { scrollTable } from "../components/scroll-table.js";
/** Orders (read model): newest first, with status and totals. */

import type { Order } from "@bitvelocity/api";
import { empty, errorBox, loading, panel, pill } from "../components/ui.js";
import { commerceApi, money, ORDER_TONE } from "../lib/commerce-api.js";
import { h, replace } from "../lib/dom.js";
import { ago, clock } from "../lib/format.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";

export function ordersPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading orders…"));
  const body = h("div");
  const render = (orders: Order[]) => replace(body, orders.length ? table(orders) : empty("No orders yet. The shop is one click away."));
  const reload = () =>
    commerceApi
      .orders({ limit: 200 })
      .then(({ orders }) => {
        if (!scope.disposed) render(orders);
      })
      .catch((err: unknown) => {
        if (!scope.disposed) replace(body, errorBox(err));
      });
  replace(
    el,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "title-row" }, h("h1", null, "Orders"), h("a", { class: "btn", href: href.shop() }, "Shop")),
    ),
    panel(h("div", { class: "panel-title" }, h("h2", null, "All orders"), h("span", { class: "muted" }, "newest first")), body),
  );
  void reload();
  scope.every(3000, () => void reload());
  return { el, scope, title: "Orders" };
}

function table(orders: Order[]): HTMLElement {
  const rows = orders.map((o) =>
    h(
      "tr",
      { testid: "order-row", data: { orderId: o.id, status: o.status } },
      h("td", null, h("a", { class: "mono", href: href.order(o.id) }, o.id.slice(0, 12)), h("div", { class: "sub" }, `by ${o.placedBy}`)),
      h("td", null, o.siteId),
      h("td", null, o.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ")),
      h("td", { class: "nowrap" }, money(o.totalMinor, o.currency)),
      h("td", null, pill(o.status.replace("_", " "), ORDER_TONE[o.status], "order-status")),
      h("td", { class: "nowrap", title: clock(o.placedAt) }, ago(o.placedAt)),
    ),
  );
  return scrollTable(
    "orders",
    h(
      "table",
      { class: "table", testid: "orders" },
      h("thead", null, h("tr", null, ...["Order", "Site", "Lines", "Total", "Status", "Placed"].map((t) => h("th", null, t)))),
      h("tbody", null, ...rows),
    ),
  );
}
