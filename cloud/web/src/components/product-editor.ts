/**
 * One product on the catalog page (admins): its name, price, tax rate and active flag, and its
 * stock per location (set the count, or adjust it by a delta with a reason). Amounts are typed as
 * decimals ("12.50") and sent as integer minor units, parsed as digit strings (@bitvelocity/api/money),
 * never through a float. The server's answer is what the card shows afterwards.
 */

import type { Product, StockLevel } from "@bitvelocity/api";
import { formatMinorUnits, parseMinorUnits } from "@bitvelocity/api/money";
import { ApiError } from "../lib/api.js";
import { commerceApi, currencyDigits, money } from "../lib/commerce-api.js";
import { h, replace } from "../lib/dom.js";
import { scrollTable } from "./scroll-table.js";
import { errorText, pill } from "./ui.js";

export interface ProductEditorHooks {
  /** The product as the server saved it. */
  saved(product: Product): void;
  /** A stock level as the server left it, and what happened in words. */
  stocked(level: StockLevel, what: string): void;
}

let seq = 0;

/** A labelled input with its own error line; `id` ties the label to the control for screen readers. */
function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): { el: HTMLElement; error: HTMLElement } {
  const id = `pe-${++seq}`;
  control.id = id;
  const error = h("div", {
    class: "field-error",
    role: "alert",
    testid: control.dataset.testid ? `${control.dataset.testid}-error` : undefined,
  });
  return {
    el: h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("div", { class: "field-hint" }, hint) : null, error),
    error,
  };
}

function notice(box: HTMLElement, text: string, tone: "muted" | "bad"): void {
  replace(box, h("div", { class: `notice notice-${tone}` }, text));
}

/** Shows the server's per-field problems beside the fields, the message in the box. */
function showError(box: HTMLElement, err: unknown, fields: Record<string, HTMLElement>): void {
  if (err instanceof ApiError) for (const p of err.problems) fields[p.path]?.append(p.message);
  notice(box, errorText(err), "bad");
}

/** `location`: the location the stock form starts on (the one used last). */
export function productEditor(
  product: Product,
  levels: StockLevel[],
  locations: string[],
  hooks: ProductEditorHooks,
  location?: string,
): HTMLElement {
  const p = product;
  const digits = currencyDigits(p.currency);
  const name = h("input", { class: "input", value: p.name, testid: "product-name", autocomplete: "off" });
  const price = h("input", {
    class: "input",
    value: formatMinorUnits(p.priceMinor, digits),
    testid: "product-price",
    autocomplete: "off",
  });
  price.inputMode = "decimal";
  const tax = h("input", { class: "input", value: formatMinorUnits(p.taxRateBp, 2), testid: "product-tax", autocomplete: "off" });
  tax.inputMode = "decimal";
  const active = h("input", { type: "checkbox", checked: p.active, testid: "product-active" });
  const fName = field("Name", name);
  const fPrice = field(`Price (${p.currency}, before tax)`, price, digits > 0 ? `e.g. ${formatMinorUnits(1250, digits)}` : undefined);
  const fTax = field("Tax rate (%)", tax);
  const activeId = `pe-${++seq}`;
  active.id = activeId;
  const message = h("div", { "aria-live": "polite", testid: "product-message" });
  const save = h("button", { class: "btn btn-primary", type: "submit", testid: "product-save" }, "Save product");
  const form = h(
    "form",
    { class: "product-form" },
    fName.el,
    h("div", { class: "field-pair" }, fPrice.el, fTax.el),
    h("div", { class: "field field-check" }, h("label", { for: activeId }, active, "For sale (shown in the shop)")),
    h("div", { class: "form-actions" }, save),
    message,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const f of [fName, fPrice, fTax]) replace(f.error);
    replace(message);
    const parsedPrice = parseMinorUnits(price.value, digits);
    const parsedTax = parseMinorUnits(tax.value, 2, 10_000);
    if (!parsedPrice.ok) fPrice.error.append(parsedPrice.reason);
    if (!parsedTax.ok) fTax.error.append(parsedTax.reason);
    if (!parsedPrice.ok || !parsedTax.ok) return notice(message, "Fix the fields marked above.", "bad");
    save.disabled = true;
    commerceApi
      .putProduct(p.sku, {
        name: name.value,
        kind: p.kind,
        deviceType: p.deviceType,
        priceMinor: parsedPrice.minor,
        currency: p.currency,
        taxRateBp: parsedTax.minor,
        active: active.checked,
      })
      .then(({ product: next }) => hooks.saved(next))
      .catch((err: unknown) => showError(message, err, { name: fName.error, priceMinor: fPrice.error, taxRateBp: fTax.error }))
      .finally(() => {
        save.disabled = false;
      });
  });

  return h(
    "details",
    { class: "product-card", testid: "catalog-product", data: { sku: p.sku } },
    h(
      "summary",
      null,
      h("span", { class: "strong" }, p.name),
      h("span", { class: "sub mono" }, p.sku),
      h("span", { class: "product-price", testid: "catalog-price" }, money(p.priceMinor, p.currency)),
      p.active ? null : pill("not for sale", "muted"),
    ),
    form,
    stockEditor(p, levels, locations, hooks, location),
  );
}

function stockEditor(p: Product, levels: StockLevel[], locations: string[], hooks: ProductEditorHooks, start?: string): HTMLElement {
  const table = h(
    "table",
    { class: "table", testid: "product-stock" },
    h("thead", null, h("tr", null, ...["Location", "On hand", "Reserved", "Available"].map((t) => h("th", null, t)))),
    h(
      "tbody",
      null,
      ...levels.map((l) =>
        h(
          "tr",
          { data: { location: l.location } },
          h("td", null, l.location),
          h("td", { testid: "stock-on-hand" }, String(l.onHand)),
          h("td", null, String(l.reserved)),
          h("td", null, String(l.available)),
        ),
      ),
    ),
  );
  const location = h("select", { class: "input", testid: "stock-location" }, ...locations.map((l) => h("option", { value: l }, l)));
  // The location used last, else the first that holds this product's stock (the warehouse).
  const initial = start ?? levels[0]?.location;
  if (initial && locations.includes(initial)) location.value = initial;
  const onHand = h("input", { class: "input qty", type: "number", min: 0, step: 1, testid: "stock-set-value" });
  const delta = h("input", { class: "input qty", type: "number", step: 1, testid: "stock-delta" });
  const reason = h("input", { class: "input", testid: "stock-reason", autocomplete: "off", placeholder: "delivery, count, breakage…" });
  const fLocation = field("Location", location);
  const fOnHand = field("Set on hand to", onHand);
  const fDelta = field("Adjust by (+/−)", delta);
  const fReason = field("Reason", reason);
  const message = h("div", { "aria-live": "polite", testid: "stock-message" });
  const clear = () => {
    for (const f of [fOnHand, fDelta, fReason]) replace(f.error);
    replace(message);
  };
  const done = (level: StockLevel, what: string) =>
    hooks.stocked(level, `${what}: ${level.onHand} on hand at ${level.location}, ${level.available} available.`);
  const whole = (input: HTMLInputElement, error: HTMLElement): number | undefined => {
    const n = Number(input.value);
    if (input.value.trim() === "" || !Number.isInteger(n)) {
      error.append("expected a whole number of units");
      return undefined;
    }
    return n;
  };
  const set = h("button", { class: "btn", type: "button", testid: "stock-set" }, "Set");
  set.addEventListener("click", () => {
    clear();
    const n = whole(onHand, fOnHand.error);
    if (n === undefined) return;
    commerceApi
      .setStock(p.sku, location.value, n)
      .then(({ stock }) => done(stock, "Stock set"))
      .catch((err: unknown) => showError(message, err, { onHand: fOnHand.error }));
  });
  const adjust = h("button", { class: "btn", type: "button", testid: "stock-adjust" }, "Adjust");
  adjust.addEventListener("click", () => {
    clear();
    const n = whole(delta, fDelta.error);
    if (n === undefined) return;
    commerceApi
      .adjustStock(p.sku, location.value, { delta: n, reason: reason.value })
      .then(({ stock }) => done(stock, "Stock adjusted"))
      .catch((err: unknown) => showError(message, err, { delta: fDelta.error, reason: fReason.error }));
  });
  return h(
    "section",
    { class: "product-stock", "aria-label": `Stock of ${p.name}` },
    h("h3", null, "Stock"),
    levels.length ? scrollTable(`Stock of ${p.name}`, table) : h("div", { class: "empty" }, "No stock recorded yet."),
    fLocation.el,
    h("div", { class: "field-pair" }, fOnHand.el, h("div", { class: "form-actions form-actions-end" }, set)),
    h("div", { class: "field-pair" }, fDelta.el, fReason.el),
    h("div", { class: "form-actions" }, adjust),
    message,
  );
}
