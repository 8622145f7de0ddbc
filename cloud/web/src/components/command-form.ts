/** A parameter form generated from a catalog command: number inputs with min/max, checkboxes, selects. */

import type { Command, CommandDef, ParamDef } from "@bitvelocity/api";
import { ApiError, api } from "../lib/api.js";
import { h, replace, setText } from "../lib/dom.js";
import { label } from "../lib/metrics.js";
import { errorText } from "./ui.js";

type Input = HTMLInputElement | HTMLSelectElement;

export function commandForm(deviceId: string, cmd: CommandDef, onSent: (c: Command) => void, onCancel: () => void): HTMLElement {
  const inputs = new Map<string, Input>();
  const fieldErrors = new Map<string, HTMLElement>();
  const message = h("div", { class: "notice notice-bad", role: "alert", testid: "command-error" });
  message.hidden = true;
  const send = h("button", { class: "btn btn-primary", type: "submit", testid: "command-send" }, `Send ${label(cmd.name).toLowerCase()}`);

  const fields = cmd.params.map((p) => {
    const input = paramInput(p);
    inputs.set(p.name, input);
    const err = h("div", { class: "field-error" });
    fieldErrors.set(p.name, err);
    const unit = p.unit ? h("span", { class: "field-unit" }, p.unit) : null;
    const hint = [p.description, range(p)].filter(Boolean).join(" · ");
    if (input instanceof HTMLInputElement && input.type === "checkbox") {
      return h(
        "div",
        { class: "field field-check" },
        h("label", null, input, h("span", null, label(p.name))),
        h("div", { class: "field-hint" }, hint),
        err,
      );
    }
    return h(
      "div",
      { class: "field" },
      h("label", { for: input.id }, label(p.name), p.required ? h("span", { class: "req", title: "required" }, " *") : null),
      h("div", { class: "field-row" }, input, unit),
      h("div", { class: "field-hint" }, hint),
      err,
    );
  });

  const clearErrors = () => {
    message.hidden = true;
    for (const [name, el] of fieldErrors) {
      setText(el, "");
      inputs.get(name)?.classList.remove("invalid");
    }
  };
  const fieldError = (name: string, text: string): boolean => {
    const el = fieldErrors.get(name);
    if (!el) return false;
    setText(el, text);
    inputs.get(name)?.classList.add("invalid");
    return true;
  };

  const form = h(
    "form",
    { class: "command-form", testid: `command-form-${cmd.name}` },
    h("div", { class: "command-form-head" }, h("h3", null, label(cmd.name)), h("p", { class: "muted" }, cmd.description)),
    ...(fields.length ? fields : [h("p", { class: "muted" }, "This command takes no parameters.")]),
    message,
    h("div", { class: "form-actions" }, send, h("button", { class: "btn btn-ghost", type: "button", on: { click: onCancel } }, "Cancel")),
  );
  form.noValidate = true;

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors();
    const params: Record<string, unknown> = {};
    let ok = true;
    for (const p of cmd.params) {
      const r = readParam(p, inputs.get(p.name)!);
      if ("error" in r) {
        fieldError(p.name, r.error);
        ok = false;
      } else if (r.value !== undefined) params[p.name] = r.value;
    }
    if (!ok) return;
    send.disabled = true;
    api
      .sendCommand(deviceId, cmd.name, params)
      .then(({ command }) => onSent(command))
      .catch((err: unknown) => {
        const problems = err instanceof ApiError ? err.problems : [];
        const unplaced = problems.filter((pr) => !fieldError(pr.path.replace(/^(params[./])?/, "").replace(/^\//, ""), pr.message));
        replace(message, errorText(err), ...unplaced.map((pr) => h("div", null, `${pr.path}: ${pr.message}`)));
        message.hidden = false;
      })
      .finally(() => {
        send.disabled = false;
      });
  });
  return form;
}

function paramInput(p: ParamDef): Input {
  const id = `param-input-${p.name}`;
  const testid = `param-${p.name}`;
  switch (p.type) {
    case "boolean":
      return h("input", { id, type: "checkbox", name: p.name, testid });
    case "enum":
      return h(
        "select",
        { id, class: "input", name: p.name, testid, required: p.required },
        p.required ? null : h("option", { value: "" }, "—"),
        ...(p.values ?? []).map((v) => h("option", { value: v }, v)),
      );
    case "number":
    case "integer":
      return h("input", {
        id,
        class: "input",
        type: "number",
        name: p.name,
        testid,
        required: p.required,
        min: p.min,
        max: p.max,
        step: p.type === "integer" ? 1 : "any",
      });
    default: {
      const input = h("input", { id, class: "input", type: "text", name: p.name, testid, required: p.required });
      if (p.maxLength) input.maxLength = p.maxLength;
      return input;
    }
  }
}

function range(p: ParamDef): string {
  if (p.min !== undefined && p.max !== undefined) return `${p.min}–${p.max}${p.unit ? ` ${p.unit}` : ""}`;
  if (p.min !== undefined) return `≥ ${p.min}`;
  if (p.max !== undefined) return `≤ ${p.max}`;
  return "";
}

function readParam(p: ParamDef, input: Input): { value: unknown } | { error: string } {
  if (p.type === "boolean") return { value: (input as HTMLInputElement).checked };
  const raw = input.value.trim();
  if (raw === "") return p.required ? { error: "Required" } : { value: undefined };
  if (p.type === "number" || p.type === "integer") {
    const n = Number(raw);
    if (!Number.isFinite(n)) return { error: "Not a number" };
    if (p.type === "integer" && !Number.isInteger(n)) return { error: "Must be a whole number" };
    if (p.min !== undefined && n < p.min) return { error: `At least ${p.min}` };
    if (p.max !== undefined && n > p.max) return { error: `At most ${p.max}` };
    return { value: n };
  }
  if (p.type === "enum" && p.values && !p.values.includes(raw)) return { error: `One of ${p.values.join(", ")}` };
  return { value: raw };
}
