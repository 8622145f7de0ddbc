/**
 * A room's latest messages as a side panel (the site's room on the edge page, the order's room on
 * the order page), live through the chat connection, with a link to the room on the chat page
 * and, when asked, a composer to write in it.
 */
import type { ChatMessage } from "@bitvelocity/api";
import { api } from "../lib/api.js";
import { chat } from "../lib/chat.js";
import { h, replace } from "../lib/dom.js";
import { clock } from "../lib/format.js";
import { href } from "../lib/router.js";
import type { Scope } from "../lib/scope.js";
import { chatComposer } from "./chat-composer.js";
import { chatText } from "./chat-text.js";
import { empty, errorText, panel } from "./ui.js";

const SHOWN = 10;

export interface ChatPanelOptions {
  /** Show a composer; its (visually hidden) label. */
  readonly composer?: string;
}

export function chatPanel(roomId: string, title: string, scope: Scope, options: ChatPanelOptions = {}): HTMLElement {
  const list = h("ol", { class: "chat-messages", testid: "chat-panel-messages" });
  const messages = new Map<number, ChatMessage>();
  const render = () => {
    const latest = [...messages.values()].sort((a, b) => a.seq - b.seq).slice(-SHOWN);
    if (latest.length === 0) {
      replace(list, h("li", null, empty("No messages yet.")));
      return;
    }
    replace(
      list,
      ...latest.map((m) =>
        h(
          "li",
          { class: `chat-msg${m.kind === "bot" ? " chat-bot" : ""}` },
          h("div", { class: "chat-meta" }, h("span", { class: "chat-author" }, m.author), h("time", null, clock(m.createdAt))),
          h("p", { class: `chat-text${m.deleted ? " chat-deleted" : ""}` }, m.deleted ? "message deleted" : chatText(m.text)),
        ),
      ),
    );
  };
  scope.add(
    chat.on("message", (m) => {
      if (m.roomId !== roomId) return;
      const had = messages.get(m.seq);
      if (!had || had.rev < m.rev) messages.set(m.seq, m);
      render();
    }),
  );
  api
    .chatHistory(roomId, undefined, SHOWN)
    .then((page) => {
      if (scope.disposed) return;
      for (const m of page.messages) if (!messages.has(m.seq)) messages.set(m.seq, m);
      render();
      return chat.follow(roomId, page.lastSeq);
    })
    .catch((err: unknown) => replace(list, h("li", null, empty(`The room is not available: ${errorText(err)}`))));
  return panel(
    h(
      "div",
      { class: "panel-title" },
      h("h2", null, title),
      h("a", { href: href.chat(roomId), testid: "chat-panel-open" }, "Open in chat"),
    ),
    list,
    options.composer ? chatComposer(roomId, options.composer, scope) : null,
  );
}
