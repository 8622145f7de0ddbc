/**
 * A message's text as DOM: text nodes, and links for #device, !alert-ID and order:ID (mentions
 * highlighted). Never innerHTML: a message with `<script>` or `onerror=` is shown as typed.
 */
import { chatSegments } from "@bitvelocity/api/chat-client";
import { h } from "../lib/dom.js";
import { href } from "../lib/router.js";

export function chatText(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  for (const s of chatSegments(text)) {
    if (s.kind === "text") out.append(document.createTextNode(s.text));
    else if (s.kind === "mention") out.append(h("span", { class: "chat-mention" }, s.text));
    else if (s.kind === "device") out.append(h("a", { href: href.device(s.id), class: "chat-ref" }, s.text));
    else if (s.kind === "alert") out.append(h("a", { href: href.alerts(), class: "chat-ref", title: `alert ${s.id}` }, s.text));
    else out.append(h("a", { href: href.chat(`order:${s.id}`), class: "chat-ref" }, s.text));
  }
  return out;
}
