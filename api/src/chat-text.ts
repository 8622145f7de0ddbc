/**
 * Splits a chat message into plain text and references, for the dashboard to render as text
 * nodes and links (never as HTML) and for the server to find @mentions:
 * `@alice` (a user), `#env-0001` (a device), `!alert-<id>` (an alert), `order:123` (an order).
 */
export type ChatSegment =
  | { kind: "text"; text: string }
  | { kind: "mention"; text: string; id: string }
  | { kind: "device"; text: string; id: string }
  | { kind: "alert"; text: string; id: string }
  | { kind: "order"; text: string; id: string };

// Each reference starts at the beginning or after a character that cannot be part of a word.
const REFERENCE =
  /(?<![\w@#!:])(?:@([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})|#([A-Za-z0-9][A-Za-z0-9_.-]{0,127})|!alert-([A-Za-z0-9-]{1,64})|order:([A-Za-z0-9_-]{1,64}))/g;

function trimTail(id: string): string {
  // "ask @alice." ends the sentence, not the name.
  return id.replace(/[.-]+$/, "");
}

export function chatSegments(text: string): ChatSegment[] {
  const out: ChatSegment[] = [];
  let at = 0;
  for (const m of text.matchAll(REFERENCE)) {
    const [whole, user, device, alert, order] = m;
    const raw = user ?? device ?? alert ?? order ?? "";
    const id = trimTail(raw);
    if (id === "") continue;
    const start = m.index;
    const end = start + whole.length - (raw.length - id.length);
    if (start > at) out.push({ kind: "text", text: text.slice(at, start) });
    const kind = user !== undefined ? "mention" : device !== undefined ? "device" : alert !== undefined ? "alert" : "order";
    out.push({ kind, text: text.slice(start, end), id });
    at = end;
  }
  if (at < text.length) out.push({ kind: "text", text: text.slice(at) });
  return out;
}

/** The distinct users a message names with @name. */
export function mentionedUsers(text: string): string[] {
  return [...new Set(chatSegments(text).flatMap((s) => (s.kind === "mention" ? [s.id] : [])))];
}
