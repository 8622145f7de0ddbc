/**
 * The catalog editor (admins): every product, for sale or not, with its price, tax rate and
 * stock per location. Other roles see a refusal here (and no link to it); the server refuses
 * their edits anyway (403, audited).
 */

import type { Product, StockLevel } from "@bitvelocity/api";
import { productEditor } from "../components/product-editor.js";
import { empty, errorBox, loading, panel } from "../components/ui.js";
import { api } from "../lib/api.js";
import { commerceApi } from "../lib/commerce-api.js";
import { h, replace } from "../lib/dom.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";

export function catalogPage(): Page {
  const scope = new Scope();
  const user = session.user;
  if (user?.role !== "admin") {
    const el = h(
      "main",
      { class: "page" },
      h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Catalog"))),
      h(
        "div",
        { class: "notice notice-bad", role: "alert", testid: "catalog-refused" },
        `Editing the catalog needs the admin role; you are ${user?.role ?? "signed out"}.`,
      ),
      h("a", { href: href.shop() }, "Browse the shop"),
    );
    return { el, scope, title: "Catalog" };
  }
  const el = h("main", { class: "page" }, loading("Loading the catalog…"));
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Catalog" };
}

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [{ products }, { stock }, { sites }] = await Promise.all([commerceApi.products(true), commerceApi.stock(), api.sites()]);
  if (scope.disposed) return;
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const levels = new Map<string, StockLevel>(stock.map((l) => [`${l.sku}@${l.location}`, l]));
  // Where stock can go: where there is stock already (the warehouse), and the sites.
  const locations = [...new Set([...stock.map((l) => l.location), ...sites.map((s) => s.id)])].sort();
  const list = h("div", { class: "product-list", testid: "catalog-products" });
  const cards = new Map<string, HTMLElement>();

  const card = (p: Product, location?: string) => {
    const own = [...levels.values()].filter((l) => l.sku === p.sku);
    const next = productEditor(
      p,
      own,
      locations,
      {
        saved(product) {
          bySku.set(product.sku, product);
          redraw(product.sku, "product-message", `Saved: ${product.name}.`);
        },
        stocked(level, what) {
          levels.set(`${level.sku}@${level.location}`, level);
          redraw(level.sku, "stock-message", what, level.location);
        },
      },
      location,
    );
    const before = cards.get(p.sku);
    cards.set(p.sku, next);
    return { next, before };
  };
  /** Redraws one product's card, open, keeping the rest of the page (and what is typed there). */
  const redraw = (sku: string, box: "product-message" | "stock-message", text: string, location?: string) => {
    const p = bySku.get(sku);
    if (!p || scope.disposed) return;
    const { next, before } = card(p, location);
    (next as HTMLDetailsElement).open = true;
    before?.replaceWith(next);
    next.querySelector(`[data-testid="${box}"]`)?.append(h("div", { class: "notice notice-muted" }, text));
  };

  for (const p of products) list.append(card(p).next);
  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Catalog"))),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "Products"), h("span", { class: "muted" }, "open a product to edit it")),
      products.length ? list : empty("The catalog is empty."),
    ),
  );
}
