/** A table in a horizontally scrollable region that keyboard users can reach (axe scrollable-region-focusable). */
import { h } from "../lib/dom.js";

export function scrollTable(label: string, table: HTMLTableElement): HTMLElement {
  const wrap = h("div", { class: "table-wrap flush", role: "region", "aria-label": label }, table);
  wrap.tabIndex = 0;
  return wrap;
}
