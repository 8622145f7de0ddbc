import { describe, expect, it } from "vitest";
import type { ChatHistory, ChatMessage, ChatReply } from "./chat.js";
import { ChatStream } from "./chat-stream.js";
import { chatSegments, mentionedUsers } from "./chat-text.js";

const msg = (seq: number, rev = seq, text = `m${seq}`): ChatMessage => ({
  roomId: "r",
  seq,
  rev,
  clientId: `c${seq}`,
  author: "a",
  kind: "user",
  text,
  mentions: [],
  createdAt: 0,
  editedAt: null,
  deleted: false,
});

/** A server: the room's changes, latest state per message; sync answers from it. */
function server(changes: ChatMessage[]) {
  const syncs: number[] = [];
  const sync = async (_room: string, after: number): Promise<ChatReply<ChatHistory>> => {
    syncs.push(after);
    const latest = new Map<number, ChatMessage>();
    for (const m of changes) latest.set(m.seq, m);
    const messages = [...latest.values()].filter((m) => m.rev > after).sort((a, b) => a.rev - b.rev);
    return { ok: true, messages, more: false, lastSeq: Math.max(0, ...changes.map((m) => m.rev)) };
  };
  return { sync, syncs };
}

describe("ChatStream", () => {
  it("applies in-order changes directly and drops copies", async () => {
    const s = server([]);
    const applied: number[] = [];
    const stream = new ChatStream(s.sync, (m) => applied.push(m.rev));
    await stream.follow("r");
    for (const r of [1, 2, 2, 3, 1]) stream.receive(msg(r));
    expect(applied).toEqual([1, 2, 3]);
    expect(s.syncs).toEqual([0]);
  });

  it("a hole (a lost broadcast) syncs from the cursor and applies the rest once, in order", async () => {
    const changes = [msg(1)];
    const s = server(changes);
    const applied: number[] = [];
    const stream = new ChatStream(s.sync, (m) => applied.push(m.rev));
    await stream.follow("r");
    expect(applied).toEqual([1]);
    changes.push(msg(2), msg(3), msg(4), msg(5));
    // The broadcasts of 2 and 3 are lost; 4 arrives: the stream asks for everything after 1.
    stream.receive(msg(4));
    await new Promise((r) => setTimeout(r, 0));
    stream.receive(msg(5));
    expect(applied).toEqual([1, 2, 3, 4, 5]);
    expect(s.syncs).toEqual([0, 1]);
  });

  it("live changes that arrive during a sync wait and are not applied twice; an edit arrives as its later state", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const changes = [msg(1), msg(2), msg(3)];
    const applied: [number, number][] = [];
    const stream = new ChatStream(
      async (_room, after) => {
        await gate;
        const messages = changes.filter((m) => m.rev > after);
        return { ok: true, messages, more: false, lastSeq: 4 };
      },
      (m) => applied.push([m.seq, m.rev]),
    );
    const following = stream.follow("r");
    stream.receive(msg(2));
    stream.receive(msg(3));
    changes.push(msg(1, 4, "edited"));
    stream.receive(msg(1, 4, "edited"));
    release();
    await following;
    expect(applied).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [1, 4],
    ]);
    expect(stream.cursor("r")).toBe(4);
    expect(stream.pending("r")).toBe(0);
  });

  it("a refused sync is reported, not retried silently", async () => {
    const errors: string[] = [];
    const stream = new ChatStream(
      async () => ({ ok: false, error: { code: "FORBIDDEN", message: "no" } }),
      () => {},
      (_r, e) => errors.push(e.code),
    );
    await stream.follow("dm:x:y");
    expect(errors).toEqual(["FORBIDDEN"]);
  });
});

describe("chat text", () => {
  it("finds mentions, devices, alerts and orders; the rest stays text", () => {
    const segs = chatSegments("hi @alice, #env-0001 is hot (!alert-42) see order:123. mail a@b.c <b>x</b>");
    expect(segs.filter((s) => s.kind !== "text").map((s) => [s.kind, s.id])).toEqual([
      ["mention", "alice"],
      ["device", "env-0001"],
      ["alert", "42"],
      ["order", "123"],
    ]);
    expect(segs.map((s) => s.text).join("")).toBe("hi @alice, #env-0001 is hot (!alert-42) see order:123. mail a@b.c <b>x</b>");
    expect(mentionedUsers("@bob @bob @carol.")).toEqual(["bob", "carol"]);
  });
});
