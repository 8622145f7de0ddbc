/** Alerts: the live list (acknowledge, resolve), recently resolved, and the rules (edited by admins). */

import type { Alert, AlertRule, DeviceType } from "@bitvelocity/api";
import { KIND_LABELS, ruleForm, ruleSummary } from "../components/rule-form.js";
import { scrollTable } from "../components/scroll-table.js";
import { empty, errorBox, errorText, loading, panel, pill, stat } from "../components/ui.js";
import { activeAlerts } from "../lib/alerts.js";
import { api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, clock } from "../lib/format.js";
import { live } from "../lib/live.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";
import { throttle } from "../lib/throttle.js";

export function alertsPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading alerts…"));
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Alerts" };
}

const TONE = { critical: "bad", warning: "warn", info: "info" } as const;

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [types, { rules }, { alerts: resolved }] = await Promise.all([
    session.catalog(),
    api.rules(),
    api.alerts({ state: "resolved", limit: 50 }),
  ]);
  if (scope.disposed) return;
  const canAct = session.canCommand();
  const isAdmin = session.user?.role === "admin";
  const state = { rules, resolved };
  const stats = h("div", { class: "stats" });
  const activeBody = h("div");
  const resolvedBody = h("div");
  const rulesBody = h("div");
  const formSlot = h("div");

  const act = (a: Alert, what: "ack" | "resolve", button: HTMLButtonElement) => {
    button.disabled = true;
    (what === "ack" ? api.ackAlert(a.id) : api.resolveAlert(a.id))
      .then(() => {})
      .catch((err: unknown) => {
        button.disabled = false;
        button.title = errorText(err);
        button.classList.add("invalid");
      });
  };

  const renderActive = (list: Alert[]) => {
    const open = list.filter((a) => a.state === "open").length;
    replace(
      stats,
      stat("Unacknowledged", String(open), { tone: open ? "bad" : "ok", testid: "alerts-open", raw: open }),
      stat("Acknowledged", String(list.length - open), { tone: list.length - open ? "warn" : undefined }),
      stat("Critical", String(list.filter((a) => a.severity === "critical").length), {
        tone: list.some((a) => a.severity === "critical") ? "bad" : undefined,
      }),
      stat("Rules", String(state.rules.filter((r) => r.enabled).length), { hint: `${state.rules.length} defined` }),
    );
    replace(activeBody, list.length ? alertTable(list, canAct, act, "active-alerts") : empty("Nothing needs attention. All quiet."));
  };
  const renderResolved = () =>
    replace(
      resolvedBody,
      state.resolved.length ? alertTable(state.resolved, false, act, "resolved-alerts") : empty("No resolved alerts yet."),
    );

  const closeForm = () => replace(formSlot);
  const openForm = (rule: AlertRule | null) => {
    replace(
      formSlot,
      ruleForm(
        types,
        rule,
        (saved) => {
          state.rules = [...state.rules.filter((r) => r.id !== saved.id), saved];
          closeForm();
          renderRules();
        },
        closeForm,
      ),
    );
    formSlot.querySelector<HTMLElement>("input")?.focus();
  };
  const renderRules = () =>
    replace(rulesBody, state.rules.length ? rulesTable(state.rules, types, isAdmin, openForm, reloadRules) : empty("No alert rules yet."));
  const reloadRules = () => {
    api
      .rules()
      .then((r) => {
        state.rules = r.rules;
        renderRules();
      })
      .catch(() => {});
  };

  renderResolved();
  renderRules();
  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Alerts"))),
    stats,
    panel(h("div", { class: "panel-title" }, h("h2", null, "Active"), h("span", { class: "muted" }, "unacknowledged first")), activeBody),
    panel(
      h(
        "div",
        { class: "panel-title" },
        h("h2", null, "Rules"),
        isAdmin
          ? h("button", { class: "btn btn-primary", type: "button", testid: "rule-new", on: { click: () => openForm(null) } }, "New rule")
          : h("span", { class: "muted" }, "only admins edit rules"),
      ),
      formSlot,
      rulesBody,
    ),
    panel(h("div", { class: "panel-title" }, h("h2", null, "Recently resolved")), resolvedBody),
  );

  const schedule = throttle(() => renderActive(activeAlerts.list()), 250);
  scope.add(schedule.cancel);
  scope.add(activeAlerts.watch(() => schedule()));
  scope.add(
    live.on("alert", (a) => {
      if (a.state !== "resolved") return;
      state.resolved = [a, ...state.resolved.filter((x) => x.id !== a.id)].slice(0, 50);
      renderResolved();
    }),
  );
  scope.every(5000, schedule);
}

function subjectLink(a: Alert): HTMLElement {
  return h("a", { class: "mono", href: a.subjectKind === "edge" ? href.edge(a.subjectId) : href.device(a.subjectId) }, a.subjectId);
}

function alertTable(
  list: Alert[],
  canAct: boolean,
  act: (a: Alert, what: "ack" | "resolve", b: HTMLButtonElement) => void,
  testid: string,
): HTMLElement {
  const head = ["", "Alert", "Subject", "Fired", "State", ""].map((t) => h("th", null, t));
  const rows = list.map((a) => {
    const ack = h(
      "button",
      { class: "btn btn-ghost", type: "button", testid: "alert-ack", disabled: !canAct || a.state !== "open" },
      "Acknowledge",
    );
    const resolve = h(
      "button",
      { class: "btn btn-ghost", type: "button", testid: "alert-resolve", disabled: !canAct || a.state === "resolved" },
      "Resolve",
    );
    ack.addEventListener("click", () => act(a, "ack", ack));
    resolve.addEventListener("click", () => act(a, "resolve", resolve));
    const who =
      a.state === "resolved"
        ? `resolved by ${a.resolvedBy} ${ago(a.resolvedAt)}`
        : a.state === "acknowledged"
          ? `acknowledged by ${a.acknowledgedBy} ${ago(a.acknowledgedAt)}`
          : a.active
            ? "firing"
            : "cleared";
    return h(
      "tr",
      {
        class: a.state === "open" ? (a.severity === "critical" ? "row-bad" : "row-warn") : "",
        testid: "alert-row",
        data: { alertId: a.id, state: a.state, subject: a.subjectId },
      },
      h("td", null, pill(a.severity, TONE[a.severity] ?? "muted")),
      h("td", null, h("div", { class: "strong" }, a.ruleName), h("div", { class: "sub" }, a.message)),
      h("td", null, subjectLink(a)),
      h("td", { class: "nowrap", title: clock(a.firedAt) }, ago(a.firedAt)),
      h("td", null, h("span", { testid: "alert-state" }, a.state), h("div", { class: "sub" }, who)),
      h("td", { class: "nowrap" }, canAct && a.state !== "resolved" ? h("div", { class: "actions" }, ack, resolve) : null),
    );
  });
  return scrollTable(
    testid === "active-alerts" ? "Active alerts" : "Resolved alerts",
    h("table", { class: "table", testid }, h("thead", null, h("tr", null, ...head)), h("tbody", null, ...rows)),
  );
}

function rulesTable(
  rules: AlertRule[],
  _types: Map<string, DeviceType>,
  isAdmin: boolean,
  edit: (r: AlertRule) => void,
  reload: () => void,
): HTMLElement {
  const rows = rules.map((r) => {
    const del = h("button", { class: "btn btn-ghost", type: "button", testid: "rule-delete" }, "Delete");
    del.addEventListener("click", () => {
      if (!window.confirm(`Delete the rule "${r.name}"? Its open alerts are resolved.`)) return;
      del.disabled = true;
      api.deleteRule(r.id).then(reload, reload);
    });
    return h(
      "tr",
      { testid: "rule-row", data: { ruleId: r.id, kind: r.kind } },
      h("td", null, h("div", { class: "strong" }, r.name), h("div", { class: "sub" }, `by ${r.createdBy}`)),
      h("td", null, KIND_LABELS[r.kind] ?? r.kind, h("div", { class: "sub mono" }, ruleSummary(r))),
      h("td", null, pill(r.severity, TONE[r.severity] ?? "muted")),
      h("td", null, r.enabled ? pill("enabled", "ok") : pill("disabled", "muted")),
      h(
        "td",
        { class: "nowrap" },
        isAdmin
          ? h(
              "div",
              { class: "actions" },
              h("button", { class: "btn btn-ghost", type: "button", testid: "rule-edit", on: { click: () => edit(r) } }, "Edit"),
              del,
            )
          : null,
      ),
    );
  });
  return scrollTable(
    "Alert rules",
    h(
      "table",
      { class: "table", testid: "alert-rules" },
      h("thead", null, h("tr", null, ...["Rule", "Condition", "Severity", "State", ""].map((t) => h("th", null, t)))),
      h("tbody", null, ...rows),
    ),
  );
}
