/**
 * One chat room per order, on a real cloud with a real payment simulator and real socket.io
 * clients: placing an order makes its room (from commerce's orderPlaced event), the buyer, an
 * admin and the users of the order's site are in it, a viewer of another site is not; the bot
 * posts the confirmation, and a cancellation with its reason.
 */
import type { ChatRoom, Order } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "./chat/chat-client.js";
import { json, PASSWORDS, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

const SENSOR = "DEV-ENV-SENSOR";
const VERA = "vera-password-1";
const SAM = "sam-password-12";

let sim: PaymentsSimulator;
let t: TestCloud;
let tokens: { admin: string; alice: string; vera: string; sam: string };
let clients: ChatClient[] = [];

async function loginAs(username: string, password: string): Promise<string> {
  const res = await t.api("/api/auth/login", undefined, { method: "POST", body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`);
  return decodeURIComponent(/bv_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1] ?? "");
}

async function client(token: string, name: string): Promise<ChatClient> {
  const c = new ChatClient(t.url, token, name);
  clients.push(c);
  await c.connected();
  return c;
}

async function roomIds(token: string): Promise<string[]> {
  const { rooms } = await json<{ rooms: ChatRoom[] }>(await t.api("/api/chat/rooms", token));
  return rooms.map((r) => r.id);
}

async function place(token: string, siteId: string): Promise<Response> {
  return t.api("/api/commerce/orders", token, { method: "POST", body: JSON.stringify({ siteId, lines: [{ sku: SENSOR, quantity: 1 }] }) });
}

beforeAll(async () => {
  sim = new PaymentsSimulator();
  const simPort = await sim.start(0);
  t = await startTestCloud({
    commerce: { payments_url: `http://127.0.0.1:${simPort}`, saga_poll_ms: 100, saga_retry_max_ms: 300 },
    users: [
      { username: "alice", role: "operator", password_hash: hashSecret(PASSWORDS.alice, "scrypt"), sites: ["site-1"] },
      { username: "victor", role: "viewer", password_hash: hashSecret(PASSWORDS.victor, "scrypt") },
      // A viewer of the other site, and an operator of the order's site who did not place it.
      { username: "vera", role: "viewer", password_hash: hashSecret(VERA, "scrypt"), sites: ["site-2"] },
      { username: "sam", role: "operator", password_hash: hashSecret(SAM, "scrypt"), sites: ["site-1"] },
    ],
  });
  tokens = {
    admin: await t.login("admin"),
    alice: await t.login("alice"),
    vera: await loginAs("vera", VERA),
    sam: await loginAs("sam", SAM),
  };
});

afterAll(async () => {
  for (const c of clients) c.close();
  clients = [];
  await t?.close();
  await sim?.stop();
});

describe("a chat room per order", () => {
  it("placing an order makes its room: buyer, admin and the site's operator are in it, a viewer of another site is not; the bot posts the confirmation", async () => {
    const alice = await client(tokens.alice, "alice");
    const admin = await client(tokens.admin, "admin");
    const vera = await client(tokens.vera, "vera");
    const res = await place(tokens.alice, "site-1");
    expect(res.status).toBe(201);
    const { order } = await json<{ order: Order }>(res);
    expect(order.status).toBe("confirmed");
    const room = `order:${order.id}`;

    // The room exists for the people who may see the order, listed with their rooms.
    await waitFor(async () => (await roomIds(tokens.alice)).includes(room), 5000, "the order room in alice's rooms");
    expect(await roomIds(tokens.admin)).toContain(room);
    expect(await roomIds(tokens.sam)).toContain(room);
    expect(await roomIds(tokens.vera)).not.toContain(room);
    // Vera sees neither the order's room nor its site's room; her own site's room she does.
    expect(await roomIds(tokens.vera)).toEqual(["site:site-2"]);

    // Over socket.io: the members sync it, the viewer of another site is refused with a reason.
    await alice.follow(room);
    await admin.follow(room);
    const refused = await vera.request<object>("sync", { roomId: room, after: 0 });
    expect(refused).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    if (!refused.ok) expect(refused.error.message).toMatch(/site site-1/);
    const history = await t.api(`/api/chat/rooms/${encodeURIComponent(room)}/messages`, tokens.vera);
    expect(history.status).toBe(403);

    // The bot posts the order being placed and confirmed, into the order's room only.
    const confirmed = await waitFor(
      () =>
        alice
          .view(room)
          .find(
            (m) =>
              m.kind === "bot" && m.text === `order:${order.id} confirmed, total ${(order.totalMinor / 100).toFixed(2)} ${order.currency}.`,
          ),
      5000,
      "the bot's confirmation",
    );
    expect(confirmed.author).toBe("bot");
    expect(alice.view(room).some((m) => /placed by @alice for site site-1/.test(m.text))).toBe(true);

    // The buyer writes in the room; the admin receives it live; the viewer of another site cannot write.
    const sent = await alice.send(room, "Where is my sensor? @admin @vera");
    expect(sent).toMatchObject({ ok: true, message: { author: "alice", text: "Where is my sensor? @admin @vera" } });
    await waitFor(() => admin.view(room).find((m) => m.author === "alice"), 5000, "alice's message at the admin");
    // @vera is no member: she gets no mention; the admin does.
    if (sent.ok) expect(sent.message?.mentions).toEqual(["admin"]);
    await waitFor(() => admin.mentions.find((m) => m.roomId === room), 5000, "the admin's mention");
    expect(vera.mentions).toHaveLength(0);
    const intrude = await vera.request<object>("send", { roomId: room, clientId: "v-1", text: "hello" });
    expect(intrude).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    expect(vera.view(room)).toHaveLength(0);
  });

  it("a cancelled order: the bot posts the cancellation with its reason", async () => {
    const alice = await client(tokens.alice, "alice-2");
    const set = await t.api(`/api/commerce/stock/${SENSOR}/warehouse-1`, tokens.admin, {
      method: "PUT",
      body: JSON.stringify({ onHand: 0 }),
    });
    expect(set.status).toBe(200);
    const res = await place(tokens.alice, "site-1");
    expect(res.status).toBe(409);
    const { orders } = await json<{ orders: Order[] }>(await t.api("/api/commerce/orders?status=cancelled", tokens.admin));
    const order = orders[0] as Order;
    expect(order.reason).toMatch(/out of stock/);
    const room = `order:${order.id}`;
    await alice.follow(room);
    await waitFor(
      () => alice.view(room).find((m) => m.kind === "bot" && m.text === `order:${order.id} cancelled: ${order.reason}.`),
      5000,
      "the bot's cancellation",
    );
    expect(alice.view(room).some((m) => / confirmed,/.test(m.text))).toBe(false);
  });

  it("the room of an order commerce does not know is 404", async () => {
    expect((await t.api("/api/chat/rooms/order%3Ano-such-order/messages", tokens.admin)).status).toBe(404);
  });
});
