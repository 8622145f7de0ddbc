/** API tokens for automation (everyone, for themselves) and, for admins, the audit log. */

import type { ApiToken, AuditEntry } from "@bitvelocity/api";
import { scrollTable } from "../components/scroll-table.js";
import { empty, errorBox, errorText, loading, panel, pill } from "../components/ui.js";
import { api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, clock } from "../lib/format.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";

export function accountPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading());
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Access" };
}

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const isAdmin = session.user?.role === "admin";
  const [{ tokens }, audit] = await Promise.all([
    api.tokens(),
    isAdmin ? api.audit(200) : Promise.resolve({ entries: [] as AuditEntry[] }),
  ]);
  if (scope.disposed) return;
  let list = tokens;
  const body = h("div");
  const secret = h("div");
  const render = () => replace(body, list.length ? tokenTable(list, revoke) : empty("No API tokens yet."));
  const revoke = (t: ApiToken) => {
    api
      .revokeToken(t.id)
      .then(({ apiToken }) => {
        list = list.map((x) => (x.id === apiToken.id ? apiToken : x));
        render();
      })
      .catch((err: unknown) => replace(secret, errorBox(err)));
  };
  const name = h("input", {
    class: "input",
    placeholder: "What is it for? e.g. grafana",
    "aria-label": "Token name",
    testid: "token-name",
  });
  const role = h(
    "select",
    { class: "input", "aria-label": "Token role", testid: "token-role" },
    ...["viewer", "operator", "admin"]
      .filter((r) => ["viewer", "operator", "admin"].indexOf(r) <= ["viewer", "operator", "admin"].indexOf(String(session.user?.role)))
      .map((r) => h("option", { value: r }, r)),
  );
  const create = h(
    "form",
    { class: "filters" },
    name,
    role,
    h("button", { class: "btn btn-primary", type: "submit", testid: "token-create" }, "Create token"),
  );
  create.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api
      .createToken({ name: name.value.trim(), role: role.value })
      .then(({ token, apiToken }) => {
        list = [apiToken, ...list];
        name.value = "";
        render();
        replace(
          secret,
          h(
            "div",
            { class: "notice notice-muted" },
            "Copy this token now; it is not shown again: ",
            h("code", { class: "mono", testid: "token-secret" }, token),
            h("div", { class: "sub mono" }, `curl -N -H 'Authorization: Bearer ${token}' ${location.origin}/api/devices/<id>/stream`),
          ),
        );
      })
      .catch((err: unknown) => replace(secret, h("div", { class: "notice notice-bad" }, errorText(err))));
  });
  render();
  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, isAdmin ? "Access & audit" : "API tokens"))),
    panel(
      h(
        "div",
        { class: "panel-title" },
        h("h2", null, "API tokens"),
        h("span", { class: "muted" }, "for scripts: Authorization: Bearer …"),
      ),
      create,
      secret,
      body,
    ),
    isAdmin
      ? panel(
          h("div", { class: "panel-title" }, h("h2", null, "Audit log"), h("span", { class: "muted" }, "commands and admin actions")),
          auditTable(audit.entries),
        )
      : null,
  );
}

function tokenTable(tokens: ApiToken[], revoke: (t: ApiToken) => void): HTMLElement {
  const rows = tokens.map((t) =>
    h(
      "tr",
      { testid: "token-row", data: { tokenId: t.id, revoked: String(t.revoked) } },
      h("td", null, h("div", { class: "strong" }, t.name), h("div", { class: "sub" }, t.username)),
      h("td", null, pill(t.role, "info")),
      h("td", null, clock(t.createdAt)),
      h("td", null, t.lastUsedAt ? ago(t.lastUsedAt) : "never"),
      h("td", null, t.expiresAt ? clock(t.expiresAt) : "never"),
      h(
        "td",
        null,
        t.revoked
          ? pill("revoked", "muted")
          : h("button", { class: "btn btn-ghost", type: "button", testid: "token-revoke", on: { click: () => revoke(t) } }, "Revoke"),
      ),
    ),
  );
  return scrollTable(
    "API tokens",
    h(
      "table",
      { class: "table", testid: "tokens" },
      h("thead", null, h("tr", null, ...["Name", "Role", "Created", "Last used", "Expires", ""].map((x) => h("th", null, x)))),
      h("tbody", null, ...rows),
    ),
  );
}

function auditTable(entries: AuditEntry[]): HTMLElement {
  if (!entries.length) return empty("Nothing recorded yet.");
  const rows = entries.map((e) =>
    h(
      "tr",
      { testid: "audit-row", data: { action: e.action } },
      h("td", { class: "nowrap", title: clock(e.at) }, ago(e.at)),
      h("td", null, e.actor, h("div", { class: "sub" }, `via ${e.via}`)),
      h("td", { class: "mono" }, e.action),
      h("td", { class: "mono" }, e.target),
      h("td", { class: "sub mono" }, JSON.stringify(e.detail)),
    ),
  );
  return scrollTable(
    "Audit log",
    h(
      "table",
      { class: "table", testid: "audit-log" },
      h("thead", null, h("tr", null, ...["When", "Who", "Action", "Target", "Detail"].map((x) => h("th", null, x)))),
      h("tbody", null, ...rows),
    ),
  );
}
