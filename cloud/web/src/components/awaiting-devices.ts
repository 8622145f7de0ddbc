/** Purchased devices awaiting their first connection (fleet's provisioned identities); hidden when there are none. */
import type { ProvisionedDevice } from "@bitvelocity/api";
import { request } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago } from "../lib/format.js";
import { href } from "../lib/router.js";
import type { Scope } from "../lib/scope.js";
import { scrollTable } from "./scroll-table.js";
import { panel } from "./ui.js";

export function awaitingDevices(scope: Scope): HTMLElement {
  const el = h("div");
  const load = () =>
    request<{ devices: ProvisionedDevice[] }>("GET", "/api/provisioned-devices")
      .then(({ devices }) => {
        const waiting = devices.filter((d) => !d.claimed);
        if (scope.disposed) return;
        if (waiting.length === 0) return replace(el);
        replace(
          el,
          panel(
            h(
              "div",
              { class: "panel-title" },
              h("h2", null, "Awaiting first connection"),
              h("span", { class: "muted" }, "purchased devices"),
            ),
            scrollTable(
              "awaiting devices",
              h(
                "table",
                { class: "table", testid: "awaiting-devices" },
                h("thead", null, h("tr", null, ...["Device", "Type", "Site", "Order", "Provisioned"].map((t) => h("th", null, t)))),
                h(
                  "tbody",
                  null,
                  ...waiting.map((d) =>
                    h(
                      "tr",
                      { testid: "awaiting-device", data: { orderId: d.orderId } },
                      h("td", { class: "mono" }, d.id),
                      h("td", null, d.type),
                      h("td", null, d.siteId),
                      h("td", null, h("a", { class: "mono", href: href.order(d.orderId) }, d.orderId.slice(0, 12))),
                      h("td", { class: "nowrap" }, ago(d.createdAt)),
                    ),
                  ),
                ),
              ),
            ),
          ),
        );
      })
      .catch(() => {
        // Shown again at the next refresh; the rest of the fleet page does not depend on it.
      });
  void load();
  scope.every(5000, () => void load());
  return el;
}
