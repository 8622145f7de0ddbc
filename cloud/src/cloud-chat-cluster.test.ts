/**
 * Chat on two cloud nodes sharing PostgreSQL and joined through the socket.io Redis adapter:
 * 50 real socket.io clients in 20 rooms, half on each node, each killing its transport at
 * random while everyone sends, and node B restarted mid-run (its clients reconnect to it on the
 * same port). Every client must end with every message of its rooms exactly once, in seq order.
 */
import { randomUUID } from "node:crypto";
import { hashSecret } from "@bitvelocity/common";
import { postgres, redis } from "@bitvelocity/common/test-services";
import { afterAll, describe, expect, it } from "vitest";
import { ChatClient } from "./chat/chat-client.js";
import { scratchDatabase } from "./chat/pg-scratch.js";
import { EDGE_TOKEN, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

const [pgService, redisService] = await Promise.all([postgres(), redis()]);
const ready = pgService.available && redisService.available;
const why = [pgService, redisService].flatMap((s) => (s.available ? [] : [s.reason])).join("; ");

const CLIENTS = 50;
const ROOMS = 20;
const PER_CLIENT = 6;
const USERS = ["alice", "victor", "admin"] as const;

const clients: ChatClient[] = [];
/** The two running nodes, for the tests after the first. */
let nodes: [TestCloud, TestCloud] | undefined;
const clouds: TestCloud[] = [];
let dropDatabase = async () => {};

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of clouds) await c.close().catch(() => {});
  await dropDatabase();
});

const rand = (n: number) => Math.floor(Math.random() * n);

describe.skipIf(!ready)(`chat across two cloud nodes (PostgreSQL + Redis)${ready ? "" : ` (skipped: ${why})`}`, () => {
  it("50 clients in 20 rooms, random reconnects and a node restart: every message once, in order", async () => {
    if (!pgService.available || !redisService.available) return;
    const sites = Array.from({ length: ROOMS }, (_, i) => ({ id: `site-${i + 1}`, name: `Plant ${i + 1}` }));
    const scratch = await scratchDatabase(pgService.url);
    dropDatabase = scratch.drop;
    const overrides = {
      "database.engine": "postgres",
      "database.url": scratch.url,
      "live.redis_url": redisService.url,
      "live.redis_channel": `bv-chat-${randomUUID()}`,
      sites,
      edges: [{ id: "edge-1", site_id: "site-1", token_hash: hashSecret(EDGE_TOKEN) }],
    };
    const a = await startTestCloud(overrides);
    clouds.push(a);
    let b = await startTestCloud(overrides);
    clouds.push(b);
    const bPort = b.cloud.ports.http;
    const tokens = new Map<string, string>();
    for (const u of USERS) tokens.set(u, await a.login(u));

    const roomsOf = (i: number) => [`site:site-${(i % ROOMS) + 1}`, `site:site-${((i + 7) % ROOMS) + 1}`];
    for (let i = 0; i < CLIENTS; i++) {
      const node = i % 2 === 0 ? a : b;
      const c = new ChatClient(node.url, tokens.get(USERS[i % USERS.length] as string) as string, `c${i}`);
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.connected()));
    await Promise.all(clients.map((c, i) => Promise.all(roomsOf(i).map((r) => c.follow(r)))));

    let running = true;
    // Random transport kills while everyone sends (only while connected: see cloud-chat.test.ts).
    const chaos = (async () => {
      while (running) {
        await new Promise((r) => setTimeout(r, 40 + rand(60)));
        const c = clients[rand(clients.length)];
        if (c?.socket.connected) c.socket.io.engine.close();
      }
    })();
    const sends = clients.map(async (c, i) => {
      for (let k = 1; k <= PER_CLIENT; k++) {
        const room = roomsOf(i)[k % 2] as string;
        const reply = await c.send(room, `c${i} #${k}`, `c${i}-${k}`, 60_000);
        expect(reply.ok).toBe(true);
        await new Promise((r) => setTimeout(r, rand(80)));
      }
    });
    // Node B restarts mid-run, on the same port: its clients reconnect to it and resume.
    await new Promise((r) => setTimeout(r, 400));
    await b.close();
    b = await startTestCloud({ ...overrides, "http.port": bPort });
    clouds.push(b);
    await Promise.all(sends);
    running = false;
    await chaos;

    // The truth: each room's messages as stored.
    const expected = new Map<string, string[]>();
    for (let r = 1; r <= ROOMS; r++) {
      const res = await a.api(`/api/chat/rooms/site:site-${r}/messages?limit=200`, tokens.get("alice"));
      const body = (await res.json()) as { messages: { text: string; seq: number }[]; more: boolean };
      expect(body.more).toBe(false);
      expected.set(
        `site:site-${r}`,
        body.messages.map((m) => m.text),
      );
    }
    const total = [...expected.values()].reduce((n, v) => n + v.length, 0);
    expect(total).toBe(CLIENTS * PER_CLIENT);

    await waitFor(
      () => clients.every((c, i) => roomsOf(i).every((r) => c.view(r).length === expected.get(r)?.length)) || undefined,
      30_000,
      "every client has every message of its rooms",
    );
    for (const [i, c] of clients.entries()) {
      for (const room of roomsOf(i)) {
        expect(c.view(room).map((m) => m.text)).toEqual(expected.get(room));
        const seqs = c.applied.filter((m) => m.roomId === room).map((m) => m.seq);
        expect(new Set(seqs).size).toBe(seqs.length);
        for (let k = 1; k < seqs.length; k++) expect(seqs[k]).toBeGreaterThan(seqs[k - 1] as number);
      }
      expect(c.errors).toEqual([]);
    }
    for (const c of clients.splice(0)) c.close();
    nodes = [a, b];
  }, 120_000);

  it("presence is right across nodes: online, away, offline", async () => {
    if (!nodes) throw new Error("the nodes did not start (see the test before)");
    const [a, b] = nodes;
    const watcher = new ChatClient(a.url, await a.login("alice"), "watch");
    const victor = new ChatClient(b.url, await b.login("victor"), "victor");
    clients.push(watcher, victor);
    await Promise.all([watcher.connected(), victor.connected()]);
    await waitFor(() => watcher.presence.get("victor") === "online" || undefined, 5000, "victor online on the other node");
    const listed = await watcher.request<{ users: { user: string; state: string }[] }>("presence", {});
    expect(listed.ok && listed.users.find((u) => u.user === "victor")?.state).toBe("online");
    victor.socket.emit("away", { away: true });
    await waitFor(() => watcher.presence.get("victor") === "away" || undefined, 5000, "victor away");
    victor.close();
    await waitFor(() => watcher.presence.get("victor") === "offline" || undefined, 5000, "victor offline");
  }, 30_000);
});
