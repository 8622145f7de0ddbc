/**
 * A small composer for a room shown outside the chat page (the order's room on the order page):
 * Enter sends, Shift+Enter breaks the line; a refusal or a private answer shows under it. Sends
 * through the chat connection (a retried send keeps its client id, so it never makes a copy).
 */
import { chat } from "../lib/chat.js";
import { h } from "../lib/dom.js";
import type { Scope } from "../lib/scope.js";
import { errorText } from "./ui.js";

export function chatComposer(roomId: string, label: string, scope: Scope): HTMLElement {
  const id = `composer-${roomId.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const input = h("textarea", { id, class: "chat-input", testid: "chat-panel-input", placeholder: "Message", autocomplete: "off" });
  input.rows = 2;
  input.maxLength = 4000;
  const button = h("button", { class: "btn btn-primary", type: "submit", testid: "chat-panel-send" }, "Send");
  const status = h("div", { class: "chat-notices", testid: "chat-panel-notice", "aria-live": "polite" });
  const form = h("form", { class: "chat-composer" }, h("label", { for: id, class: "visually-hidden" }, label), input, button);
  scope.listen(input, "keydown", (e) => {
    const k = e as KeyboardEvent;
    if (k.key === "Enter" && !k.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  scope.listen(form, "submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (text.trim() === "") return;
    button.disabled = true;
    status.textContent = "";
    chat
      .send(roomId, text)
      .then((reply) => {
        if (!reply.ok) {
          status.textContent = reply.error.message;
          return;
        }
        input.value = "";
        if (reply.notice) status.textContent = reply.notice.text;
      })
      .catch((err: unknown) => {
        status.textContent = errorText(err);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return h("div", null, form, status);
}
