/**
 * Chat: the rooms this user may see (unread badges), a room's history (older pages load as you
 * scroll up), live changes through the chat connection, typing, and a composer with slash-command
 * completion. Private answers (a refused command, help) show above the composer.
 */
import type { ChatMessage, ChatRoom } from "@bitvelocity/api";
import { chatText } from "../components/chat-text.js";
import { empty, errorBox, errorText, loading } from "../components/ui.js";
import { api } from "../lib/api.js";
import { chat } from "../lib/chat.js";
import { h, replace, setText } from "../lib/dom.js";
import { clock } from "../lib/format.js";
import { href, navigate } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";

const COMMANDS = [
  ["/status", "/status [EDGE|DEVICE]"],
  ["/ack", "/ack ALERT"],
  ["/resolve", "/resolve ALERT"],
  ["/cmd", "/cmd DEVICE COMMAND key=value…"],
  ["/order", "/order ID"],
  ["/help", "/help"],
] as const;

export function chatPage(roomId: string | null): Page {
  const scope = new Scope();
  const el = h("main", { class: "page chat-page" }, loading("Loading chat…"));
  load(el, scope, roomId).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Chat" };
}

async function load(el: HTMLElement, scope: Scope, wanted: string | null): Promise<void> {
  const { rooms } = await api.chatRooms();
  if (scope.disposed) return;
  if (rooms.length === 0) {
    replace(el, h("h1", { class: "visually-hidden" }, "Chat"), empty("No chat rooms yet."));
    return;
  }
  const current = rooms.find((r) => r.id === wanted) ?? rooms[0]!;
  if (wanted !== current.id) {
    navigate(href.chat(current.id));
    return;
  }
  const me = session.user?.username ?? "";
  const roomList = h("ul", { class: "chat-rooms", testid: "chat-rooms" });
  const renderRooms = () =>
    replace(
      roomList,
      ...rooms.map((r) =>
        h(
          "li",
          null,
          h(
            "a",
            { href: href.chat(r.id), class: r.id === current.id ? "active" : "", data: { room: r.id } },
            r.kind === "direct" ? presenceDot(r) : null,
            roomLabel(r),
            r.unread > 0 && r.id !== current.id ? h("span", { class: "badge badge-hot", testid: "chat-unread" }, String(r.unread)) : null,
          ),
        ),
      ),
    );
  renderRooms();
  scope.add(chat.on("presence", () => renderRooms()));

  const list = h("ol", { class: "chat-messages", testid: "chat-messages", "aria-label": `Messages in ${roomLabel(current)}` });
  const scroller = h("div", { class: "chat-scroll", tabindex: "0", role: "region", "aria-label": "Conversation" }, list);
  const typing = h("div", { class: "chat-typing", "aria-live": "polite" }, "");
  const notices = h("div", { class: "chat-notices", testid: "chat-notices", "aria-live": "polite" });
  const input = h("textarea", {
    id: "chat-input",
    class: "chat-input",
    testid: "chat-input",
    placeholder: "Message, or / for commands",
    autocomplete: "off",
  });
  input.rows = 2;
  input.maxLength = 4000;
  const suggestions = h("ul", { class: "chat-suggest", testid: "chat-suggest", "aria-label": "Commands" });
  const sendButton = h("button", { class: "btn btn-primary", type: "submit", testid: "chat-send" }, "Send");
  const form = h(
    "form",
    { class: "chat-composer" },
    h("label", { for: "chat-input", class: "visually-hidden" }, "Message"),
    input,
    sendButton,
  );

  const messages = new Map<number, ChatMessage>();
  let oldest = Number.POSITIVE_INFINITY;
  let more = false;
  let loadingOlder = false;

  const render = () => {
    const sorted = [...messages.values()].sort((a, b) => a.seq - b.seq);
    replace(list, ...sorted.map((m) => messageItem(m, me)));
  };
  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };

  const first = await api.chatHistory(current.id);
  if (scope.disposed) return;
  for (const m of first.messages) messages.set(m.seq, m);
  oldest = first.messages[0]?.seq ?? oldest;
  more = first.more;

  let readTimer = 0;
  const markRead = () => {
    window.clearTimeout(readTimer);
    readTimer = window.setTimeout(() => {
      const last = Math.max(0, ...messages.keys());
      if (last > current.readSeq) {
        current.readSeq = last;
        api.chatRead(current.id, last).catch(() => {});
      }
    }, 300);
  };
  scope.add(() => window.clearTimeout(readTimer));

  scope.add(
    chat.on("message", (m) => {
      if (m.roomId !== current.id) {
        const r = rooms.find((x) => x.id === m.roomId);
        if (r && m.author !== me && m.rev === m.seq) {
          r.unread++;
          renderRooms();
        }
        return;
      }
      const stick = atBottom();
      const had = messages.get(m.seq);
      if (!had || had.rev < m.rev) messages.set(m.seq, m);
      render();
      if (stick) toBottom();
      markRead();
    }),
  );
  const typers = new Map<string, number>();
  const renderTyping = () => {
    const names = [...typers.keys()];
    setText(typing, names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "");
  };
  scope.add(
    chat.on("typing", (t) => {
      if (t.roomId !== current.id || t.user === me) return;
      window.clearTimeout(typers.get(t.user));
      typers.set(
        t.user,
        window.setTimeout(() => {
          typers.delete(t.user);
          renderTyping();
        }, 3000),
      );
      renderTyping();
    }),
  );
  const notify = (text: string, tone: "bad" | "info") => {
    notices.append(h("div", { class: `notice notice-${tone}`, role: tone === "bad" ? "alert" : undefined }, text));
    while (notices.childElementCount > 3) notices.firstElementChild?.remove();
  };
  scope.add(chat.on("mention", (m) => notify(`@${m.by} mentioned you in ${m.roomId}: ${m.text}`, "info")));
  scope.add(chat.on("notice", (n) => notify(n.text, n.code === "HELP" ? "info" : "bad")));
  await chat.follow(current.id, first.lastSeq);

  const loadOlder = async () => {
    if (!more || loadingOlder) return;
    loadingOlder = true;
    try {
      const page = await api.chatHistory(current.id, oldest);
      const height = scroller.scrollHeight;
      for (const m of page.messages) if (!messages.has(m.seq)) messages.set(m.seq, m);
      oldest = page.messages[0]?.seq ?? oldest;
      more = page.more;
      render();
      scroller.scrollTop += scroller.scrollHeight - height;
    } finally {
      loadingOlder = false;
    }
  };
  scope.listen(scroller, "scroll", () => {
    if (scroller.scrollTop < 80) void loadOlder().catch(() => {});
  });

  const suggest = () => {
    const text = input.value;
    const word = text.startsWith("/") && !text.includes(" ") ? text : null;
    const matches = word === null ? [] : COMMANDS.filter(([c]) => c.startsWith(word));
    replace(
      suggestions,
      ...matches.map(([c, usage]) =>
        h(
          "li",
          null,
          h(
            "button",
            {
              type: "button",
              class: "btn btn-ghost",
              on: {
                click: () => {
                  input.value = `${c} `;
                  input.focus();
                  suggest();
                },
              },
            },
            usage,
          ),
        ),
      ),
    );
  };
  let lastTyping = 0;
  scope.listen(input, "input", () => {
    suggest();
    if (Date.now() - lastTyping > 2000 && !input.value.startsWith("/")) {
      lastTyping = Date.now();
      chat.typing(current.id);
    }
  });
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
    sendButton.disabled = true;
    chat
      .send(current.id, text)
      .then((reply) => {
        if (!reply.ok) {
          notify(reply.error.message, "bad");
          return;
        }
        input.value = "";
        suggest();
        if (reply.notice) notify(reply.notice.text, reply.notice.code === "HELP" ? "info" : "bad");
        toBottom();
      })
      .catch((err: unknown) => notify(errorText(err), "bad"))
      .finally(() => {
        sendButton.disabled = false;
      });
  });

  replace(
    el,
    h("h1", { class: "visually-hidden" }, `Chat: ${roomLabel(current)}`),
    h(
      "div",
      { class: "chat-layout" },
      h("nav", { class: "chat-side", "aria-label": "Chat rooms" }, roomList, directForm(notify)),
      h(
        "section",
        { class: "chat-main", testid: "chat-room", data: { room: current.id } },
        h("h2", { class: "chat-title" }, roomLabel(current)),
        scroller,
        typing,
        notices,
        suggestions,
        form,
      ),
    ),
  );
  render();
  toBottom();
  markRead();
}

/** Opens (or finds) the direct room with another user. */
function directForm(notify: (text: string, tone: "bad" | "info") => void): HTMLElement {
  const who = h("input", { id: "chat-dm-user", class: "chat-input", testid: "chat-dm-user", placeholder: "username", autocomplete: "off" });
  const form = h(
    "form",
    { class: "chat-dm" },
    h("label", { for: "chat-dm-user" }, "Direct message"),
    h("div", { class: "chat-composer" }, who, h("button", { class: "btn", type: "submit" }, "Open")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const user = who.value.trim();
    if (!user) return;
    api
      .chatDirect(user)
      .then(({ room }) => navigate(href.chat(room.id)))
      .catch((err: unknown) => notify(errorText(err), "bad"));
  });
  return form;
}

function presenceDot(r: ChatRoom): HTMLElement {
  const other = (r.members ?? []).find((m) => m !== session.user?.username) ?? "";
  const state = chat.presence.get(other) ?? "offline";
  return h("span", { class: `dot presence-${state}`, title: state, role: "img", "aria-label": state });
}

function roomLabel(r: ChatRoom): string {
  if (r.kind === "direct") return `@${(r.members ?? []).filter((m) => m !== session.user?.username).join(", ") || r.name}`;
  return r.kind === "site" ? `# ${r.name}` : r.name;
}

function messageItem(m: ChatMessage, me: string): HTMLElement {
  return h(
    "li",
    {
      class: `chat-msg${m.kind === "bot" ? " chat-bot" : ""}${m.author === me ? " chat-mine" : ""}`,
      data: { seq: String(m.seq) },
      testid: "chat-message",
    },
    h(
      "div",
      { class: "chat-meta" },
      h("span", { class: "chat-author" }, m.kind === "bot" ? "bot" : m.author),
      h("time", null, clock(m.createdAt)),
      m.editedAt && !m.deleted ? h("span", { class: "chat-edited" }, "edited") : null,
    ),
    m.deleted ? h("p", { class: "chat-text chat-deleted" }, "message deleted") : h("p", { class: "chat-text" }, chatText(m.text)),
  );
}
