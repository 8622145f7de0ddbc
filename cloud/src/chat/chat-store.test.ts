/**
 * The chat store on SQLite and on PostgreSQL (same queries): per-room seq strictly increasing
 * under concurrent writers on separate connections, idempotent client ids, tombstones, pages.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgres } from "@bitvelocity/common/test-services";
import { afterEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../platform/database.js";
import { openPostgres } from "../platform/postgres.js";
import { ChatStore } from "./chat-store.js";
import { chatMigrations } from "./migrations.js";
import { scratchDatabase } from "./pg-scratch.js";

const CHAT = { name: "chat", migrations: chatMigrations };
const pgService = await postgres();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sqlite(): Promise<Database[]> {
  const dir = mkdtempSync(join(tmpdir(), "bv-chat-"));
  const db = await openDatabase(dir, [CHAT]);
  cleanups.push(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return [db, db];
}

async function postgresPair(): Promise<Database[]> {
  if (!pgService.available) throw new Error(pgService.reason);
  const scratch = await scratchDatabase(pgService.url);
  // Two pools on one database: two cloud nodes writing the same room.
  const a = await openPostgres({ url: scratch.url, poolSize: 4 }, [CHAT]);
  const b = await openPostgres({ url: scratch.url, poolSize: 4 }, [CHAT]);
  cleanups.push(async () => {
    await a.destroy();
    await b.destroy();
    await scratch.drop();
  });
  return [a, b];
}

const engines: [string, () => Promise<Database[]>, string][] = [
  ["SQLite", sqlite, ""],
  ["PostgreSQL", postgresPair, pgService.available ? "" : pgService.reason],
];

for (const [name, open, skip] of engines) {
  describe.skipIf(skip !== "")(`chat store on ${name}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    it("concurrent writers on two handles get strictly increasing, gap-free seqs; a retried client id is one message", async () => {
      const [dbA, dbB] = await open();
      const a = new ChatStore(dbA as Database);
      const b = new ChatStore(dbB as Database);
      await a.ensureRoom({ id: "site:s", kind: "site", name: "S" });
      await b.ensureRoom({ id: "site:s", kind: "site", name: "S" });
      const posts = Array.from({ length: 60 }, (_, i) =>
        (i % 2 ? a : b).post({ roomId: "site:s", clientId: `c-${i % 50}`, author: "alice", kind: "user", text: `m${i}`, mentions: [] }),
      );
      const results = await Promise.all(posts);
      expect(results.filter((r) => r.created)).toHaveLength(50);
      const page = await a.history("site:s", undefined, 200);
      expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(page.messages.map((m) => m.clientId)).size).toBe(50);
    });

    it("posts of one turn share a commit; one bad post (unknown room) fails alone and the others are stored", async () => {
      const [db] = await open();
      const s = new ChatStore(db as Database);
      await s.ensureRoom({ id: "site:g", kind: "site", name: "G" });
      const post = (roomId: string, clientId: string) =>
        s.post({ roomId, clientId, author: "bot", kind: "bot", text: clientId, mentions: [] });
      const outcomes = await Promise.allSettled([
        post("site:g", "g1"),
        post("site:nowhere", "g2"),
        post("site:g", "g3"),
        post("site:g", "g1"),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
      expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/unknown room site:nowhere/);
      const page = await s.history("site:g", undefined, 10);
      expect(page.messages.map((m) => [m.seq, m.clientId])).toEqual([
        [1, "g1"],
        [2, "g3"],
      ]);
      const retried = (outcomes[3] as PromiseFulfilledResult<{ created: boolean; message: { seq: number } }>).value;
      expect(retried.created).toBe(false);
      expect(retried.message.seq).toBe(1);
    });

    it("edits and deletes take new numbers; changes after a cursor show each message once in its latest state", async () => {
      const [db] = await open();
      const s = new ChatStore(db as Database);
      await s.ensureRoom({ id: "order:1", kind: "order", name: "Order 1" });
      for (let i = 1; i <= 5; i++)
        await s.post({ roomId: "order:1", clientId: `k${i}`, author: "bob", kind: "user", text: `t${i}`, mentions: [] });
      await s.change("order:1", 2, { text: "t2 edited", mentions: [], deleted: false });
      await s.change("order:1", 3, { text: "", mentions: [], deleted: true });
      expect(await s.change("order:1", 99, { text: "x", mentions: [], deleted: false })).toBeUndefined();
      const changes = await s.changes("order:1", 1, 100);
      expect(changes.messages.map((m) => [m.seq, m.rev])).toEqual([
        [4, 4],
        [5, 5],
        [2, 6],
        [3, 7],
      ]);
      expect(changes.messages[3]).toMatchObject({ deleted: true, text: "" });
      const older = await s.history("order:1", 4, 2);
      expect(older.messages.map((m) => m.seq)).toEqual([2, 3]);
      expect(older.more).toBe(true);
      await s.markRead("order:1", "carol", 3);
      await s.markRead("order:1", "carol", 1);
      expect((await s.readState("carol", ["order:1"])).get("order:1")).toEqual({ readSeq: 3, unread: 2 });
    });
  });
}
