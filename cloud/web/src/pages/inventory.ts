import { scrollTable } from "../components/scroll-table.js";
/** Inventory: warehouse stock, smart shelves moving live (SSE), replenishment drafts, and the payment provider's breaker. */

import type { PaymentsStatus, ReplenishmentDraft, Shelf, StockLevel } from "@bitvelocity/api";
import { empty, errorBox, loading, panel, pill, stat } from "../components/ui.js";
import { commerceApi } from "../lib/commerce-api.js";
import { h, replace } from "../lib/dom.js";
import { ago } from "../lib/format.js";
import { type Page, Scope } from "../lib/scope.js";

export function inventoryPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading inventory…"));
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Inventory" };
}

const BREAKER_TONE = { closed: "ok", "half-open": "warn", open: "bad", isolated: "bad" } as const;

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [{ stock }, { shelves }, { drafts }, payments] = await Promise.all([
    commerceApi.stock(),
    commerceApi.shelves(),
    commerceApi.drafts(),
    commerceApi.payments(),
  ]);
  if (scope.disposed) return;
  const shelfMap = new Map(shelves.map((s) => [s.deviceId, s]));
  const stats = h("div", { class: "stats" });
  const shelfBody = h("div");
  const draftBody = h("div");
  const stockBody = h("div");
  const state = { payments, drafts };

  const renderStats = () => {
    const low = [...shelfMap.values()].filter((s) => s.low).length;
    replace(
      stats,
      stat("Payments", state.payments.breaker, { tone: BREAKER_TONE[state.payments.breaker], testid: "breaker-state" }),
      stat("Waiting orders", String(state.payments.pendingOrders), { tone: state.payments.pendingOrders ? "warn" : undefined }),
      stat("Low shelves", String(low), { tone: low ? "bad" : "ok", testid: "low-shelves", raw: low }),
      stat("Drafts", String(state.drafts.length)),
    );
  };
  const renderShelves = () =>
    replace(shelfBody, shelfMap.size ? shelfTable([...shelfMap.values()]) : empty("No smart shelf has reported yet."));
  const renderDrafts = () => replace(draftBody, state.drafts.length ? draftTable(state.drafts) : empty("No replenishment drafts."));
  const renderStock = (levels: StockLevel[]) => replace(stockBody, levels.length ? stockTable(levels) : empty("No stock recorded."));

  renderStats();
  renderShelves();
  renderDrafts();
  renderStock(stock);
  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Inventory"))),
    stats,
    panel(h("div", { class: "panel-title" }, h("h2", null, "Smart shelves"), h("span", { class: "muted" }, "live")), shelfBody),
    panel("Replenishment drafts", draftBody),
    panel("Warehouse stock", stockBody),
  );

  const source = new EventSource("/api/commerce/shelves/stream");
  scope.add(() => source.close());
  source.addEventListener("shelf", (e) => {
    const shelf = JSON.parse((e as MessageEvent<string>).data) as Shelf;
    const before = shelfMap.get(shelf.deviceId);
    shelfMap.set(shelf.deviceId, shelf);
    renderShelves();
    renderStats();
    if (shelf.low && !before?.low) void refreshSlow();
  });
  const refreshSlow = async () => {
    try {
      const [d, p, s] = await Promise.all([commerceApi.drafts(), commerceApi.payments(), commerceApi.stock()]);
      if (scope.disposed) return;
      state.drafts = d.drafts;
      state.payments = p satisfies PaymentsStatus;
      renderDrafts();
      renderStats();
      renderStock(s.stock);
    } catch {
      // The next tick tries again; the live shelves keep flowing meanwhile.
    }
  };
  scope.every(5000, () => void refreshSlow());
}

function shelfTable(shelves: Shelf[]): HTMLElement {
  return scrollTable(
    "shelves",
    h(
      "table",
      { class: "table", testid: "shelves" },
      h("thead", null, h("tr", null, ...["Shelf", "Item", "Count", "Low / high", "Updated"].map((t) => h("th", null, t)))),
      h(
        "tbody",
        null,
        ...shelves.map((s) =>
          h(
            "tr",
            { class: s.low ? "row-bad" : "", testid: "shelf-row", data: { deviceId: s.deviceId, low: String(s.low) } },
            h("td", null, h("div", { class: "mono" }, s.deviceId), h("div", { class: "sub" }, s.siteId)),
            h("td", { class: "mono" }, s.sku ?? "not bound"),
            h(
              "td",
              null,
              h("span", { class: "strong", testid: "shelf-count" }, s.itemCount === null ? "–" : String(s.itemCount)),
              s.low ? pill("low", "bad") : null,
            ),
            h("td", null, `${s.lowThreshold} / ${s.highThreshold}`),
            h("td", { class: "nowrap" }, ago(s.updatedAt)),
          ),
        ),
      ),
    ),
  );
}

function draftTable(drafts: ReplenishmentDraft[]): HTMLElement {
  return scrollTable(
    "drafts",
    h(
      "table",
      { class: "table", testid: "drafts" },
      h("thead", null, h("tr", null, ...["Draft", "Shelf", "Item", "Quantity", "Created"].map((t) => h("th", null, t)))),
      h(
        "tbody",
        null,
        ...drafts.map((d) =>
          h(
            "tr",
            null,
            h("td", { class: "mono" }, d.id.slice(0, 14)),
            h("td", { class: "mono" }, d.shelfDeviceId),
            h("td", { class: "mono" }, d.sku),
            h("td", null, String(d.quantity)),
            h("td", { class: "nowrap" }, ago(d.createdAt)),
          ),
        ),
      ),
    ),
  );
}

function stockTable(levels: StockLevel[]): HTMLElement {
  return scrollTable(
    "stock",
    h(
      "table",
      { class: "table", testid: "stock" },
      h("thead", null, h("tr", null, ...["SKU", "Location", "On hand", "Reserved", "Available"].map((t) => h("th", null, t)))),
      h(
        "tbody",
        null,
        ...levels.map((l) =>
          h(
            "tr",
            { data: { sku: l.sku } },
            h("td", { class: "mono" }, l.sku),
            h("td", null, l.location),
            h("td", null, String(l.onHand)),
            h("td", null, String(l.reserved)),
            h("td", null, l.available > 0 ? String(l.available) : pill("none", "bad")),
          ),
        ),
      ),
    ),
  );
}
