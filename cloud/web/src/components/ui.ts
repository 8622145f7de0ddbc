/** Small shared pieces: status dots, panels, stat tiles, error and empty states. */
import { ApiError } from "../lib/api.js";
import { h } from "../lib/dom.js";

export function dot(online: boolean): HTMLSpanElement {
  return h("span", {
    class: `dot ${online ? "dot-on" : "dot-off"}`,
    title: online ? "online" : "offline",
    // An image with a name: a plain span may not carry aria-label (axe aria-prohibited-attr).
    role: "img",
    "aria-label": online ? "online" : "offline",
  });
}

export function setDot(el: HTMLElement, online: boolean): void {
  el.className = `dot ${online ? "dot-on" : "dot-off"}`;
  el.title = online ? "online" : "offline";
  el.setAttribute("aria-label", el.title);
}

export function pill(text: string, tone: "ok" | "bad" | "warn" | "info" | "muted", testid?: string): HTMLSpanElement {
  return h("span", { class: `pill pill-${tone}`, testid }, text);
}

export function panel(title: string | Node, ...body: Array<Node | null | false>): HTMLElement {
  return h(
    "section",
    { class: "panel" },
    h("header", { class: "panel-head" }, typeof title === "string" ? h("h2", null, title) : title),
    ...body,
  );
}

/** A labelled figure. The testid goes on the value itself, with the raw number (if any) in data-value. */
export function stat(
  label: string,
  value: string,
  opts: { tone?: string; testid?: string; hint?: string; raw?: number | null } = {},
): HTMLElement {
  const data = opts.raw === undefined || opts.raw === null ? undefined : { value: String(opts.raw) };
  return h(
    "div",
    { class: `stat ${opts.tone ? `stat-${opts.tone}` : ""}` },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value", testid: opts.testid, data }, value),
    opts.hint ? h("div", { class: "stat-hint" }, opts.hint) : null,
  );
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status ? `${err.message} (${err.code})` : err.message;
  return err instanceof Error ? err.message : String(err);
}

export function errorBox(err: unknown): HTMLElement {
  return h("div", { class: "notice notice-bad", role: "alert" }, errorText(err));
}

export function loading(text = "Loading…"): HTMLElement {
  return h("div", { class: "notice notice-muted" }, h("span", { class: "spinner" }), text);
}

export function empty(text: string): HTMLElement {
  return h("div", { class: "empty" }, text);
}
