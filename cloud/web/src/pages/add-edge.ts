/**
 * Add edge (admin): pick the site, name the edge, get a one-time claim code with the one command
 * to run on the Pi and the cloud's certificate fingerprint beside it. The list below follows each
 * code from "pending" to "claimed" to "online".
 */
import type { EdgeClaim, Site } from "@bitvelocity/api";
import { scrollTable } from "../components/scroll-table.js";
import { empty, errorBox, errorText, loading, panel, pill } from "../components/ui.js";
import { ApiError, api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, clock } from "../lib/format.js";
import { type Page, Scope } from "../lib/scope.js";

const STATE_TONE = { pending: "info", expired: "muted", claimed: "warn", online: "ok" } as const;

export function addEdgePage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading());
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Add edge" };
}

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [{ sites }, first] = await Promise.all([api.sites(), api.claims()]);
  if (scope.disposed) return;
  const list = h("div");
  const result = h("div", { "aria-live": "polite" });
  const renderList = (claims: EdgeClaim[]) => replace(list, claims.length ? claimTable(claims) : empty("No claim codes issued yet."));
  renderList(first.claims);
  scope.every(3000, () => {
    api
      .claims()
      .then(({ claims }) => {
        if (!scope.disposed) renderList(claims);
      })
      .catch(() => {});
  });

  const site = h(
    "select",
    { class: "input", id: "claim-site", testid: "claim-site" },
    ...sites.map((s: Site) => h("option", { value: s.id }, s.name)),
  );
  const edgeId = h("input", {
    class: "input",
    id: "claim-edge-id",
    testid: "claim-edge-id",
    placeholder: "e.g. line-3-pi",
    autocomplete: "off",
    required: true,
  });
  const name = h("input", { class: "input", id: "claim-name", testid: "claim-name", placeholder: "e.g. Packing line Pi" });
  const ttl = h(
    "select",
    { class: "input", id: "claim-ttl", testid: "claim-ttl" },
    h("option", { value: "60" }, "1 hour"),
    h("option", { value: "1440" }, "1 day"),
    h("option", { value: "10080" }, "7 days"),
  );
  const field = (label: string, control: HTMLElement, forId: string) =>
    h("div", { class: "field" }, h("label", { for: forId }, label), control);
  const form = h(
    "form",
    { class: "stack", testid: "claim-form" },
    field("Site", site, "claim-site"),
    field("Edge id", edgeId, "claim-edge-id"),
    field("Name (optional)", name, "claim-name"),
    field("Code valid for", ttl, "claim-ttl"),
    h("button", { class: "btn btn-primary", type: "submit", testid: "claim-create" }, "Create claim code"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    api
      .createClaim({ siteId: site.value, edgeId: edgeId.value.trim(), name: name.value.trim() || undefined, ttlMinutes: Number(ttl.value) })
      .then((created) => {
        edgeId.value = "";
        name.value = "";
        replace(
          result,
          h(
            "div",
            { class: "notice notice-muted claim-result", testid: "claim-result" },
            h("p", null, `Claim code for ${created.claim.edgeId}, valid until ${clock(created.claim.expiresAt)}, usable once:`),
            h("p", { class: "claim-code mono strong", testid: "claim-code" }, created.code),
            h("p", null, "On the Pi, run:"),
            h("pre", { class: "mono wrap", testid: "claim-command" }, created.installCommand),
            h(
              "p",
              { class: "sub", testid: "claim-fingerprint" },
              created.certificateFingerprint
                ? `Cloud certificate SHA-256 fingerprint: ${created.certificateFingerprint}`
                : "This cloud serves plain HTTP: there is no certificate fingerprint to compare.",
            ),
          ),
        );
        return api.claims().then(({ claims }) => renderList(claims));
      })
      .catch((err: unknown) => {
        const problems = err instanceof ApiError ? err.problems.map((p) => h("div", null, `${p.path}: ${p.message}`)) : [];
        replace(result, h("div", { class: "notice notice-bad", role: "alert" }, errorText(err), ...problems));
      });
  });

  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Add edge"))),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "New edge"), h("span", { class: "muted" }, "a one-time claim code")),
      form,
      result,
    ),
    panel(h("div", { class: "panel-title" }, h("h2", null, "Claim codes")), list),
  );
}

function claimTable(claims: EdgeClaim[]): HTMLElement {
  const rows = claims.map((c) =>
    h(
      "tr",
      { testid: "claim-row", data: { edgeId: c.edgeId, state: c.state } },
      h("td", null, h("div", { class: "strong" }, c.name), h("div", { class: "sub mono" }, `${c.edgeId} · ${c.siteId}`)),
      h("td", null, pill(c.state, STATE_TONE[c.state], "claim-state")),
      h("td", { class: "nowrap", title: clock(c.createdAt) }, ago(c.createdAt)),
    ),
  );
  return scrollTable(
    "Claim codes",
    h(
      "table",
      { class: "table", testid: "claims" },
      h("thead", null, h("tr", null, ...["Edge", "State", "Issued"].map((x) => h("th", null, x)))),
      h("tbody", null, ...rows),
    ),
  );
}
