/** The alert-rule editor (admins): kind-specific fields, server problems shown beside each field. */

import type { AlertRule, DeviceType, RuleBody, RuleKind } from "@bitvelocity/api";
import { ApiError, api } from "../lib/api.js";
import { h, replace, setText } from "../lib/dom.js";
import { isNumeric, label } from "../lib/metrics.js";
import { errorText } from "./ui.js";

interface FieldSpec {
  name: string;
  label: string;
  type: "number" | "integer" | "text" | "op" | "device_type" | "metric";
  required?: boolean;
  hint?: string;
}

const FIELDS: Record<RuleKind, FieldSpec[]> = {
  metric_threshold: [
    { name: "device_type", label: "Device type", type: "device_type", hint: "any type if empty" },
    { name: "metric", label: "Metric", type: "metric", required: true },
    { name: "op", label: "Fires when", type: "op", required: true },
    { name: "threshold", label: "Threshold", type: "number", required: true },
    { name: "for_s", label: "For (seconds)", type: "integer", hint: "how long the value must stay beyond" },
    { name: "hysteresis", label: "Hysteresis", type: "number", hint: "clears only this far back inside the threshold" },
    { name: "device_id", label: "Device id", type: "text", hint: "every matching device if empty" },
  ],
  device_offline: [
    { name: "for_s", label: "Offline for (seconds)", type: "integer", required: true },
    { name: "device_type", label: "Device type", type: "device_type", hint: "any type if empty" },
    { name: "device_id", label: "Device id", type: "text", hint: "every device if empty" },
  ],
  outbox_backlog: [
    { name: "max_readings", label: "More than (readings)", type: "integer" },
    { name: "max_age_s", label: "Oldest older than (seconds)", type: "integer" },
    { name: "edge_id", label: "Edge id", type: "text", hint: "every edge if empty" },
  ],
  gap_detected: [{ name: "edge_id", label: "Edge id", type: "text", hint: "every edge if empty" }],
};

export const KIND_LABELS: Record<RuleKind, string> = {
  metric_threshold: "Metric beyond a threshold",
  device_offline: "Device offline",
  outbox_backlog: "Edge outbox backing up",
  gap_detected: "Gap detected",
};

type Control = HTMLInputElement | HTMLSelectElement;

export function ruleForm(
  types: Map<string, DeviceType>,
  existing: AlertRule | null,
  onSaved: (r: AlertRule) => void,
  onCancel: () => void,
): HTMLElement {
  const errors = new Map<string, HTMLElement>();
  const controls = new Map<string, Control>();
  const errorFor = (path: string) => {
    let el = errors.get(path);
    if (!el) {
      el = h("div", { class: "field-error" });
      errors.set(path, el);
    }
    return el;
  };
  const name = h("input", { class: "input", name: "name", testid: "rule-name", value: existing?.name ?? "" });
  const kind = h(
    "select",
    { class: "input", name: "kind", testid: "rule-kind" },
    ...(Object.keys(FIELDS) as RuleKind[]).map((k) => h("option", { value: k }, KIND_LABELS[k])),
  );
  kind.value = existing?.kind ?? "metric_threshold";
  const severity = h(
    "select",
    { class: "input", name: "severity", testid: "rule-severity" },
    ...["info", "warning", "critical"].map((s) => h("option", { value: s }, s)),
  );
  severity.value = existing?.severity ?? "warning";
  const enabled = h("input", { type: "checkbox", name: "enabled", testid: "rule-enabled", checked: existing?.enabled ?? true });
  const params = h("div", { class: "params" });
  const message = h("div", { class: "notice notice-bad", role: "alert", testid: "rule-error" });
  message.hidden = true;

  const metricOptions = (select: HTMLSelectElement, typeName: string) => {
    const current = select.value;
    const names = new Set<string>();
    for (const t of types.values()) {
      if (typeName && t.type !== typeName) continue;
      for (const m of t.metrics) if (isNumeric(m)) names.add(m.name);
    }
    replace(select, ...[...names].sort().map((n) => h("option", { value: n }, label(n))));
    if (names.has(current)) select.value = current;
  };

  const renderParams = () => {
    controls.clear();
    const k = kind.value as RuleKind;
    const values = existing?.kind === k ? existing.params : {};
    const fields = FIELDS[k].map((f) => {
      let c: Control;
      const testid = `rule-param-${f.name}`;
      if (f.type === "op") {
        c = h("select", { class: "input", testid }, h("option", { value: "above" }, "above"), h("option", { value: "below" }, "below"));
      } else if (f.type === "device_type") {
        c = h(
          "select",
          { class: "input", testid },
          h("option", { value: "" }, "Any type"),
          ...[...types.values()].map((t) => h("option", { value: t.type }, t.name || t.type)),
        );
      } else if (f.type === "metric") {
        c = h("select", { class: "input", testid });
      } else {
        c = h("input", { class: "input", testid, type: f.type === "text" ? "text" : "number", step: f.type === "integer" ? 1 : "any" });
      }
      const v = values[f.name];
      if (v !== undefined && v !== null && f.type !== "metric") c.value = String(v);
      controls.set(f.name, c);
      return h(
        "div",
        { class: "field" },
        h("label", null, f.label, f.required ? h("span", { class: "req" }, " *") : null),
        c,
        f.hint ? h("div", { class: "field-hint" }, f.hint) : null,
        errorFor(`params.${f.name}`),
      );
    });
    replace(params, ...fields, errorFor("params"));
    const metric = controls.get("metric") as HTMLSelectElement | undefined;
    const type = controls.get("device_type") as HTMLSelectElement | undefined;
    if (metric) {
      metricOptions(metric, type?.value ?? "");
      if (typeof values.metric === "string") metric.value = values.metric;
      type?.addEventListener("change", () => metricOptions(metric, type.value));
    }
  };
  kind.addEventListener("change", renderParams);
  renderParams();

  const read = (): RuleBody => {
    const k = kind.value as RuleKind;
    const p: Record<string, unknown> = {};
    for (const f of FIELDS[k]) {
      const raw = controls.get(f.name)?.value.trim() ?? "";
      if (raw === "") continue;
      p[f.name] = f.type === "number" || f.type === "integer" ? Number(raw) : raw;
    }
    return { name: name.value.trim(), kind: k, severity: severity.value as RuleBody["severity"], enabled: enabled.checked, params: p };
  };

  const save = h("button", { class: "btn btn-primary", type: "submit", testid: "rule-save" }, existing ? "Save rule" : "Create rule");
  const form = h(
    "form",
    { class: "command-form rule-form", testid: "rule-form" },
    h("div", { class: "command-form-head" }, h("h3", null, existing ? `Edit ${existing.name}` : "New alert rule")),
    h("div", { class: "field" }, h("label", null, "Name", h("span", { class: "req" }, " *")), name, errorFor("name")),
    h("div", { class: "field" }, h("label", null, "Condition"), kind, errorFor("kind")),
    h("div", { class: "field" }, h("label", null, "Severity"), severity),
    h("div", { class: "field field-check" }, h("label", null, enabled, h("span", null, "Enabled"))),
    params,
    message,
    h("div", { class: "form-actions" }, save, h("button", { class: "btn btn-ghost", type: "button", on: { click: onCancel } }, "Cancel")),
  );
  form.noValidate = true;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const el of errors.values()) setText(el, "");
    message.hidden = true;
    save.disabled = true;
    const body = read();
    (existing ? api.updateRule(existing.id, body) : api.createRule(body))
      .then(({ rule }) => onSaved(rule))
      .catch((err: unknown) => {
        const problems = err instanceof ApiError ? err.problems : [];
        const unplaced = problems.filter((p) => {
          const el = errors.get(p.path);
          if (!el) return true;
          setText(el, p.message);
          return false;
        });
        replace(message, errorText(err), ...unplaced.map((p) => h("div", null, `${p.path}: ${p.message}`)));
        message.hidden = false;
      })
      .finally(() => {
        save.disabled = false;
      });
  });
  return form;
}

/** One line saying what a rule watches. */
export function ruleSummary(r: AlertRule): string {
  const p = r.params as Record<string, string | number | undefined>;
  const scope = (what: string) => (p.device_id ? ` on ${p.device_id}` : p.device_type ? ` on ${p.device_type}` : ` on any ${what}`);
  switch (r.kind) {
    case "metric_threshold":
      return `${p.metric} ${p.op} ${p.threshold}${p.for_s ? ` for ${p.for_s} s` : ""}${p.hysteresis ? ` (±${p.hysteresis})` : ""}${scope("device")}`;
    case "device_offline":
      return `offline for ${p.for_s} s${scope("device")}`;
    case "outbox_backlog":
      return [
        p.max_readings !== undefined ? `> ${p.max_readings} readings` : null,
        p.max_age_s !== undefined ? `oldest > ${p.max_age_s} s` : null,
      ]
        .filter(Boolean)
        .join(" or ")
        .concat(p.edge_id ? ` on ${p.edge_id}` : " on any edge");
    case "gap_detected":
      return `any gap record${p.edge_id ? ` on ${p.edge_id}` : ""}`;
  }
}
