/**
 * The bot on a real SQLite store and the real event bus: commerce, fleet and alert events become
 * posts in the right rooms, once each even when an event is heard twice (two nodes).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatMessage } from "@bitvelocity/api";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../platform/database.js";
import { EventBus } from "../platform/event-bus.js";
import type { AlertView } from "../platform/events.js";
import { ChatBot } from "./bot.js";
import { ChatService } from "./chat-service.js";
import { ChatStore } from "./chat-store.js";
import { chatMigrations } from "./migrations.js";
import type { ChatDirectory } from "./ports.js";

const dir = mkdtempSync(join(tmpdir(), "bv-chat-bot-"));
let db: Database | undefined;
afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const directory: ChatDirectory = {
  device: (id) => (id === "shelf-1" ? ({ id, siteId: "s1", edgeId: "e1" } as ReturnType<ChatDirectory["device"]>) : undefined),
  edge: (id) => (id === "e1" ? ({ id, siteId: "s1" } as ReturnType<ChatDirectory["edge"]>) : undefined),
  edges: () => [],
  sites: () => [{ id: "s1", name: "Plant 1" }],
};

const alert = (state: AlertView["state"]): AlertView => ({
  id: "a1b2c3d4-0000",
  ruleId: "r",
  ruleName: "Hot",
  kind: "metric_threshold",
  severity: "warning",
  subjectKind: "device",
  subjectId: "shelf-1",
  message: "temperature 50 is above 40",
  value: 50,
  state,
  active: true,
  firedAt: 1,
  clearedAt: null,
  acknowledgedAt: state === "open" ? null : 2,
  acknowledgedBy: state === "open" ? null : "alice",
  resolvedAt: null,
  resolvedBy: null,
});

describe("the chat bot", () => {
  it("posts order steps into the order room, low stock, alerts and edge events into the site room, once each", async () => {
    db = await openDatabase(dir, [{ name: "chat", migrations: chatMigrations }]);
    const store = new ChatStore(db);
    const orders = { order: async () => undefined };
    const service = new ChatService(store, {
      users: () => ({ find: async () => undefined }),
      directory: () => directory,
      orders: () => orders,
    });
    const delivered: ChatMessage[] = [];
    service.deliverTo({ message: (m) => delivered.push(m), mention() {}, notice() {} });
    const bus = new EventBus();
    const bot = new ChatBot(
      service,
      bus,
      () => directory,
      () => orders,
    );
    bot.start();
    const placed = {
      orderId: "42",
      siteId: "s1",
      placedBy: "olga",
      lines: [{ sku: "ENV-1", kind: "device" as const, deviceType: "env-sensor", quantity: 2, unitPriceMinor: 1999 }],
      totalMinor: 3998,
      currency: "EUR",
      at: 5,
    };
    for (let i = 0; i < 2; i++) {
      bus.emit("orderPlaced", placed);
      bus.emit("orderProgressed", { orderId: "42", siteId: "s1", step: "reserve", status: "succeeded", detail: "", at: 6 });
      bus.emit("lowStockDetected", {
        siteId: "s1",
        shelfDeviceId: "shelf-1",
        sku: "ENV-1",
        count: 1,
        threshold: 3,
        draftOrderId: "43",
        at: 7,
      });
      bus.emit("alertUpdated", alert("open"));
      bus.emit("alertUpdated", alert("acknowledged"));
      bus.emit("edgeDisconnected", { edgeId: "e1", at: 8, reason: "stream closed" });
    }
    await new Promise((r) => setTimeout(r, 300));
    bot.stop();
    const order = (await store.history("order:42", undefined, 50)).messages.map((m) => m.text);
    expect(order).toEqual(["order:42 placed by @olga for site s1: 2× ENV-1, total 39.98 EUR.", "order:42 reserve: succeeded."]);
    // The room knows who may see it: the buyer and the order's site.
    expect(await store.room("order:42")).toMatchObject({ kind: "order", siteId: "s1", owner: "olga" });
    const site = (await store.history("site:s1", undefined, 50)).messages.map((m) => m.text);
    expect(site).toHaveLength(4);
    expect(site.join("\n")).toMatch(/Low stock on #shelf-1: ENV-1 at 1 \(threshold 3\); draft order:43/);
    expect(site.join("\n")).toMatch(/WARNING Hot on #shelf-1/);
    expect(site.join("\n")).toMatch(/!alert-a1b2c3d4-0000 acknowledged by @alice/);
    expect(site.join("\n")).toMatch(/Edge #e1 went offline: stream closed/);
    expect(delivered).toHaveLength(6);
  });
});
