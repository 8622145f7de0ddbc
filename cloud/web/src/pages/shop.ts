import { scrollTable } from "../components/scroll-table.js";
/** The shop: catalog with prices and stock, a cart, and checkout (operators and admins). */

import type { Product, Site } from "@bitvelocity/api";
import { empty, errorBox, loading, panel, pill } from "../components/ui.js";
import { api } from "../lib/api.js";
import { commerceApi, money } from "../lib/commerce-api.js";
import { h, replace } from "../lib/dom.js";
import { href, navigate } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";

export function shopPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading the catalog…"));
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Shop" };
}

const KIND = { device: "Device", consumable: "Consumable", "shelf-item": "Shelf item" } as const;

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [{ products }, { sites }] = await Promise.all([commerceApi.products(), api.sites()]);
  if (scope.disposed) return;
  const canOrder = session.canCommand();
  const cart = new Map<string, number>();
  // One key per cart content: a second click (or a retry after a network error) cannot order twice.
  let key = crypto.randomUUID();
  const cartBody = h("div");
  const message = h("div", { "aria-live": "polite" });
  const bySku = new Map(products.map((p) => [p.sku, p]));

  const renderCart = () => {
    key = crypto.randomUUID();
    replace(message);
    if (cart.size === 0) return replace(cartBody, empty("The cart is empty."));
    const lines = [...cart].map(([sku, qty]) => ({ p: bySku.get(sku)!, qty }));
    const currency = lines[0]!.p.currency;
    const subtotal = lines.reduce((a, l) => a + l.p.priceMinor * l.qty, 0);
    const tax = lines.reduce((a, l) => a + Math.floor((l.p.priceMinor * l.qty * l.p.taxRateBp + 5000) / 10000), 0);
    replace(
      cartBody,
      h(
        "ul",
        { class: "cart", testid: "cart" },
        ...lines.map((l) =>
          h(
            "li",
            { class: "cart-line", data: { sku: l.p.sku } },
            h("span", null, `${l.qty} × ${l.p.name}`),
            h("span", { class: "mono" }, money(l.p.priceMinor * l.qty, currency)),
            h(
              "button",
              {
                class: "btn btn-ghost",
                type: "button",
                "aria-label": `Remove ${l.p.name}`,
                on: {
                  click: () => {
                    cart.delete(l.p.sku);
                    renderCart();
                  },
                },
              },
              "Remove",
            ),
          ),
        ),
      ),
      h(
        "div",
        { class: "cart-total" },
        `Estimated total ${money(subtotal + tax, currency)} (incl. ${money(tax, currency)} tax; the server prices the order)`,
      ),
      checkout(sites),
    );
  };

  const checkout = (list: Site[]) => {
    if (!canOrder)
      return h(
        "div",
        { class: "notice notice-muted", testid: "viewer-note" },
        "Viewers can browse the shop; ordering needs the operator role.",
      );
    const site = h(
      "select",
      { class: "input", testid: "checkout-site", id: "checkout-site" },
      ...list.map((s) => h("option", { value: s.id }, s.name)),
    );
    const button = h("button", { class: "btn btn-primary", type: "button", testid: "place-order" }, "Place order");
    button.addEventListener("click", () => {
      button.disabled = true;
      replace(message, loading("Checking out…"));
      commerceApi
        .placeOrder({ siteId: site.value, lines: [...cart].map(([sku, quantity]) => ({ sku, quantity })) }, key)
        .then(({ order }) => {
          cart.clear();
          navigate(href.order(order.id));
        })
        .catch((err: unknown) => {
          button.disabled = false;
          replace(message, errorBox(err));
        });
    });
    return h("div", { class: "form-actions" }, h("label", { for: "checkout-site" }, "Deliver to site"), site, button);
  };

  const row = (p: Product) => {
    const qty = h("input", {
      class: "input qty",
      type: "number",
      min: 1,
      max: Math.max(1, p.available),
      value: "1",
      "aria-label": `Quantity of ${p.name}`,
    });
    const add = h("button", { class: "btn", type: "button", testid: "add-to-cart", disabled: p.available <= 0 }, "Add");
    add.addEventListener("click", () => {
      const n = Number(qty.value);
      if (!Number.isInteger(n) || n < 1) return qty.classList.add("invalid");
      qty.classList.remove("invalid");
      cart.set(p.sku, (cart.get(p.sku) ?? 0) + n);
      renderCart();
    });
    return h(
      "tr",
      { testid: "product-row", data: { sku: p.sku } },
      h("td", null, h("div", { class: "strong" }, p.name), h("div", { class: "sub mono" }, p.sku)),
      h("td", { class: "hide-sm" }, KIND[p.kind]),
      h(
        "td",
        { class: "nowrap" },
        money(p.priceMinor, p.currency),
        h("div", { class: "sub" }, `+${p.taxRateBp / 100} % tax`),
        h("div", { class: "sub", testid: "available" }, p.available > 0 ? `${p.available} available` : pill("sold out", "bad")),
      ),
      h("td", null, h("div", { class: "actions actions-wrap" }, qty, add)),
    );
  };

  renderCart();
  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Shop"))),
    panel(h("div", { class: "panel-title" }, h("h2", null, "Cart")), cartBody, message),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "Catalog"), h("span", { class: "muted" }, "prices before tax")),
      scrollTable(
        "catalog",
        h(
          "table",
          { class: "table", testid: "catalog" },
          h(
            "thead",
            null,
            h("tr", null, ...["Product", "Kind", "Price", ""].map((t) => h("th", { class: t === "Kind" ? "hide-sm" : "" }, t))),
          ),
          h("tbody", null, ...products.map(row)),
        ),
      ),
    ),
  );
}
