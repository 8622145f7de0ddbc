/**
 * A tiny DOM builder. Text is always set through text nodes, never innerHTML,
 * so data from the API cannot inject markup.
 */

type Child = Node | string | number | null | undefined | false;
type Listener = (event: Event) => void;

export interface Props {
  class?: string;
  testid?: string;
  style?: string;
  title?: string;
  href?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  autocomplete?: string;
  disabled?: boolean;
  required?: boolean;
  checked?: boolean;
  min?: string | number;
  max?: string | number;
  step?: string | number;
  for?: string;
  rows?: number;
  spellcheck?: string;
  id?: string;
  role?: string;
  tabindex?: string;
  "aria-label"?: string;
  "aria-live"?: string;
  data?: Record<string, string>;
  on?: Record<string, Listener>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) applyProps(el, props);
  append(el, ...children);
  return el;
}

function applyProps(el: HTMLElement, props: Props): void {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "testid") el.dataset.testid = String(value);
    else if (key === "data") Object.assign(el.dataset, value as Record<string, string>);
    else if (key === "on") {
      for (const [name, fn] of Object.entries(value as Record<string, Listener>)) el.addEventListener(name, fn);
    } else if (key === "value" && "value" in el) (el as HTMLInputElement).value = String(value);
    else if (key === "checked" && el instanceof HTMLInputElement) el.checked = Boolean(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replace every child of `el`. */
export function replace(el: Node, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}

/** Set text only when it changed (keeps the DOM quiet on wall screens that re-render every second). */
export function setText(el: Node, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
