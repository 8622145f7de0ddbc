/**
 * Chat delivery on a real cloud (SQLite) with real socket.io clients: resume after the transport
 * is killed mid-stream, idempotent retries, edits and tombstones, mentions, and refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "./chat/chat-client.js";
import { startTestCloud, type TestCloud, waitFor } from "./test-support.js";

let t: TestCloud;
const clients: ChatClient[] = [];
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

async function client(user: "alice" | "victor" | "admin", name: string = user): Promise<ChatClient> {
  const c = new ChatClient(t.url, await t.login(user), name);
  clients.push(c);
  await c.connected();
  return c;
}

describe("chat delivery over /chat", () => {
  it("a reader whose transport is killed mid-stream ends with every message exactly once, in seq order", async () => {
    const writer = await client("alice", "writer");
    const reader = await client("victor", "reader");
    await writer.follow("site:site-1");
    await reader.follow("site:site-1");
    const total = 120;
    let kills = 0;
    const sending = (async () => {
      for (let i = 1; i <= total; i++) {
        const r = await writer.send("site:site-1", `message ${i}`, `w-${i}`);
        expect(r.ok).toBe(true);
        if (i % 5 === 0) await new Promise((res) => setTimeout(res, 5));
      }
    })();
    // Kill the reader's transport three times while the writer sends; socket.io-client reconnects.
    // (Each kill waits for the reconnect: closing an engine that is still opening leaves
    // socket.io-client 4.8 without a reconnect attempt, a client quirk, not what is tested here.)
    for (let k = 0; k < 3; k++) {
      await waitFor(() => reader.socket.connected || undefined, 5000, "the reader reconnected");
      await new Promise((res) => setTimeout(res, 60));
      reader.socket.io.engine.close();
      kills++;
    }
    await sending;
    const view = await waitFor(
      () => {
        const v = reader.view("site:site-1");
        return v.length >= total ? v : undefined;
      },
      15_000,
      "every message at the reader",
    );
    expect(kills).toBe(3);
    const texts = view.map((m) => m.text);
    expect(texts).toEqual(Array.from({ length: total }, (_, i) => `message ${i + 1}`));
    const seqs = reader.applied.filter((m) => m.roomId === "site:site-1").map((m) => m.seq);
    // Applied once each, strictly increasing.
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(reader.errors).toEqual([]);
  }, 40_000);

  it("a retried send with the same client id is one message", async () => {
    const c = await client("alice");
    const a = await c.send("site:site-2", "once", "retry-1");
    const b = await c.send("site:site-2", "once (retried)", "retry-1");
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(b.message?.seq).toBe(a.message?.seq);
    expect(b.message?.text).toBe("once");
    const alice = await t.login("alice");
    const page = (await (await t.api("/api/chat/rooms/site:site-2/messages", alice)).json()) as { messages: { clientId: string }[] };
    expect(page.messages.filter((m) => m.clientId === "retry-1")).toHaveLength(1);
  });

  it("edit and delete reach a follower as changes; a delete leaves a tombstone", async () => {
    const author = await client("alice");
    const other = await client("victor");
    await other.follow("site:site-2");
    const sent = await author.send("site:site-2", "tpyo");
    if (!sent.ok || !sent.message) throw new Error("send failed");
    const seq = sent.message.seq;
    const edited = await author.request<{ message: { text: string } }>("edit", { roomId: "site:site-2", seq, text: "typo fixed" });
    expect(edited).toMatchObject({ ok: true, message: { text: "typo fixed" } });
    // Only the author may change it.
    expect(await other.request("edit", { roomId: "site:site-2", seq, text: "mine now" })).toMatchObject({
      ok: false,
      error: { code: "FORBIDDEN" },
    });
    expect(await author.request("remove", { roomId: "site:site-2", seq })).toMatchObject({
      ok: true,
      message: { deleted: true, text: "" },
    });
    await waitFor(() => other.view("site:site-2").find((m) => m.seq === seq && m.deleted), 5000, "the tombstone at the follower");
    const viewer = await t.login("victor");
    const page = (await (await t.api("/api/chat/rooms/site:site-2/messages", viewer)).json()) as {
      messages: { seq: number; deleted: boolean }[];
    };
    expect(page.messages.find((m) => m.seq === seq)).toMatchObject({ deleted: true });
  });

  it("@mentions notify the named user; direct rooms are for their two members only", async () => {
    const alice = await client("alice");
    const victor = await client("victor");
    const sent = await alice.send("site:site-1", "@victor please look at #valve-1 and !alert-abc, order:7");
    expect(sent).toMatchObject({ ok: true, message: { mentions: ["victor"] } });
    await waitFor(() => victor.mentions.find((m) => m.by === "alice"), 5000, "the mention");
    const aliceToken = await t.login("alice");
    const dm = await t.api("/api/chat/direct", aliceToken, { method: "POST", body: JSON.stringify({ user: "victor" }) });
    expect(dm.status).toBe(200);
    const admin = await client("admin");
    expect(await admin.request("sync", { roomId: "dm:alice:victor", after: 0 })).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    const adminToken = await t.login("admin");
    expect((await t.api("/api/chat/rooms/dm:alice:victor/messages", adminToken)).status).toBe(403);
    expect(await victor.request("sync", { roomId: "dm:alice:victor", after: 0 })).toMatchObject({ ok: true, messages: [] });
  });

  it("bad input gets a clear error and stores nothing", async () => {
    const c = await client("alice");
    expect(await c.request("send", { roomId: "site:site-1", clientId: "e-1", text: "   " })).toMatchObject({
      ok: false,
      error: { code: "VALIDATION_FAILED" },
    });
    expect(await c.request("send", { roomId: "site:nowhere", clientId: "e-2", text: "hi" })).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
    expect(await c.request("send", { roomId: "site:site-1", clientId: "e-3", text: "x".repeat(5000) })).toMatchObject({
      ok: false,
      error: { code: "VALIDATION_FAILED" },
    });
    const token = await t.login("alice");
    const big = await t.api("/api/chat/rooms/site:site-1/messages", token, {
      method: "POST",
      body: JSON.stringify({ clientId: "e-4", text: "x".repeat(100_000) }),
    });
    expect(big.status).toBe(413);
    const empty = await t.api("/api/chat/rooms/site:site-1/messages", token, {
      method: "POST",
      body: JSON.stringify({ clientId: "e-5", text: "" }),
    });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
    const unknown = await t.api("/api/chat/rooms/order:nope/messages", token);
    expect(unknown.status).toBe(404);
    const page = (await (await t.api("/api/chat/rooms/site:site-1/messages?limit=200", token)).json()) as {
      messages: { clientId: string }[];
    };
    expect(page.messages.filter((m) => m.clientId.startsWith("e-"))).toEqual([]);
  });

  it("history pages back by seq; unread counts follow the read marker", async () => {
    const c = await client("alice");
    for (let i = 0; i < 7; i++) await c.send("site:site-2", `page ${i}`);
    const victor = await t.login("victor");
    const first = (await (await t.api("/api/chat/rooms/site:site-2/messages?limit=3", victor)).json()) as {
      messages: { seq: number; text: string }[];
      more: boolean;
      lastSeq: number;
    };
    expect(first.messages.map((m) => m.text)).toEqual(["page 4", "page 5", "page 6"]);
    expect(first.more).toBe(true);
    const before = first.messages[0]?.seq ?? 0;
    const second = (await (await t.api(`/api/chat/rooms/site:site-2/messages?limit=3&before=${before}`, victor)).json()) as {
      messages: { seq: number; text: string }[];
    };
    expect(second.messages.map((m) => m.text)).toEqual(["page 1", "page 2", "page 3"]);
    const rooms = (await (await t.api("/api/chat/rooms", victor)).json()) as { rooms: { id: string; unread: number }[] };
    const unread = rooms.rooms.find((r) => r.id === "site:site-2")?.unread ?? 0;
    expect(unread).toBeGreaterThanOrEqual(7);
    const read = await t.api("/api/chat/rooms/site:site-2/read", victor, { method: "POST", body: JSON.stringify({ seq: first.lastSeq }) });
    expect(((await read.json()) as { room: { unread: number } }).room.unread).toBe(0);
  });

  it("typing reaches the others in the room; slash commands are rate limited per user", async () => {
    const admin = await client("admin");
    const victor = await client("victor");
    await victor.follow("site:site-2");
    await admin.follow("site:site-2");
    const seen: string[] = [];
    victor.socket.on("typing", (t) => seen.push(`${t.roomId}/${t.user}`));
    admin.socket.emit("typing", { roomId: "site:site-2" });
    await waitFor(() => seen.includes("site:site-2/admin") || undefined, 5000, "the typing event");
    const codes: string[] = [];
    for (let i = 0; i < 11; i++) {
      const r = await admin.send("site:site-2", "/help");
      if (r.ok) codes.push(r.notice?.code ?? "none");
    }
    expect(codes.slice(0, 10).every((c) => c === "HELP")).toBe(true);
    expect(codes[10]).toBe("RATE_LIMITED");
  });
});
