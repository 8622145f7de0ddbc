/** The top bar: brand, breadcrumb, live-link indicator, user and logout. */

import type { User } from "@bitvelocity/api";
import { activeAlerts } from "../lib/alerts.js";
import { h, setText } from "../lib/dom.js";
import { live } from "../lib/live.js";
import { href } from "../lib/router.js";
import type { Scope } from "../lib/scope.js";

export function header(user: User, scope: Scope, onLogout: () => void): HTMLElement {
  const linkLabel = h("span", { class: "link-label" }, "");
  const link = h("span", { class: "link", title: "Live connection" }, h("span", { class: "link-dot" }), linkLabel);
  scope.add(
    live.onState((s) => {
      link.dataset.state = s;
      setText(linkLabel, s === "live" ? "Live" : s === "connecting" ? "Reconnecting" : "Offline");
    }),
  );
  const badge = h("span", { class: "badge", testid: "alert-badge" }, "");
  scope.add(
    activeAlerts.watch((alerts) => {
      const open = alerts.filter((a) => a.state === "open").length;
      setText(badge, alerts.length ? String(alerts.length) : "");
      badge.dataset.count = String(alerts.length);
      badge.classList.toggle("badge-hot", open > 0);
      badge.title = `${open} unacknowledged, ${alerts.length - open} acknowledged`;
    }),
  );
  const clock = h("span", { class: "clock" }, "");
  const tick = () => setText(clock, new Date().toLocaleTimeString(undefined, { hour12: false }));
  tick();
  scope.every(1000, tick);

  return h(
    "header",
    { class: "topbar" },
    h(
      "a",
      { class: "brand", href: href.fleet() },
      h("span", { class: "brand-mark" }, "BV"),
      h("span", { class: "brand-name" }, "BitVelocity"),
      h("span", { class: "brand-sub" }, "Operations"),
    ),
    h(
      "nav",
      { class: "nav" },
      h("a", { href: href.fleet(), testid: "nav-fleet" }, "Fleet"),
      h("a", { href: href.alerts(), testid: "nav-alerts" }, "Alerts", badge),
      h("a", { href: href.chat(), testid: "nav-chat" }, "Chat"),
      h("a", { href: href.shop(), testid: "nav-shop" }, "Shop"),
      h("a", { href: href.orders(), testid: "nav-orders" }, "Orders"),
      h("a", { href: href.inventory(), testid: "nav-inventory" }, "Inventory"),
      user.role === "admin" ? h("a", { href: href.catalog(), testid: "nav-catalog" }, "Catalog") : null,
      h("a", { href: href.account(), testid: "nav-account" }, user.role === "admin" ? "Access & audit" : "API tokens"),
      user.role === "admin" ? h("a", { href: href.users(), testid: "nav-users" }, "Users") : null,
      user.role === "admin" ? h("a", { href: href.addEdge(), testid: "nav-add-edge" }, "Add edge") : null,
      user.role === "admin" ? h("a", { href: href.releases(), testid: "nav-releases" }, "Releases") : null,
    ),
    h(
      "div",
      { class: "topbar-right" },
      link,
      clock,
      h(
        "span",
        { class: "user" },
        h("span", { class: "user-name", testid: "current-user", data: { role: String(user.role) } }, user.username),
        h("span", { class: `role role-${user.role}`, testid: "current-role" }, user.role),
      ),
      h("button", { class: "btn btn-ghost", type: "button", testid: "logout", on: { click: onLogout } }, "Log out"),
    ),
  );
}
