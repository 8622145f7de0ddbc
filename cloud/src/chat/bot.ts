/**
 * The bot: turns events into posts in the site and order rooms. It learns of things from events
 * only. Each post's client id is derived from the event (alert id and state, edge and time, …),
 * so the same event heard twice (two cloud nodes, a replayed outbox) is posted once.
 */
import { createHash } from "node:crypto";
import type { EventBus } from "../platform/event-bus.js";
import type { AlertView, GapRecorded, OrderLineView } from "../platform/events.js";
import type { ChatService } from "./chat-service.js";
import type { ChatDirectory, ChatOrders } from "./ports.js";

/** A client id of at most 64 characters, stable for the same parts. */
export function botClientId(...parts: (string | number)[]): string {
  const id = parts.join(":").replace(/[^A-Za-z0-9_.:-]/g, "_");
  return id.length <= 64 ? id : `h:${createHash("sha256").update(id).digest("hex").slice(0, 60)}`;
}

function money(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

function lines(ls: readonly OrderLineView[]): string {
  return ls.map((l) => `${l.quantity}× ${l.sku}`).join(", ");
}

export class ChatBot {
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly chat: ChatService,
    private readonly bus: EventBus,
    private readonly directory: () => ChatDirectory,
    private readonly orders: () => ChatOrders,
  ) {}

  start(): void {
    const bus = this.bus;
    this.offs.push(
      bus.on("alertUpdated", (a) => this.onAlert(a)),
      bus.on("edgeConnected", (e) =>
        this.toSite(e.siteId, botClientId("edge", e.edgeId, "up", e.connectedAt), `Edge #${e.edgeId} is online (agent ${e.agentVersion}).`),
      ),
      bus.on("edgeDisconnected", (e) => {
        const site = this.directory().edge(e.edgeId)?.siteId;
        return site
          ? this.toSite(site, botClientId("edge", e.edgeId, "down", e.at), `Edge #${e.edgeId} went offline: ${e.reason}.`)
          : undefined;
      }),
      bus.on("gapRecorded", (g) => this.onGap(g)),
      bus.on("lowStockDetected", (e) =>
        this.toSite(
          e.siteId,
          botClientId("lowstock", e.shelfDeviceId, e.sku, e.at),
          `Low stock on #${e.shelfDeviceId}: ${e.sku} at ${e.count} (threshold ${e.threshold}); draft order:${e.draftOrderId}.`,
        ),
      ),
      bus.on("orderPlaced", (o) =>
        this.toOrder(
          o,
          botClientId("order", o.orderId, "placed"),
          `order:${o.orderId} placed by @${o.placedBy} for site ${o.siteId}: ${lines(o.lines)}, total ${money(o.totalMinor, o.currency)}.`,
        ),
      ),
      bus.on("orderProgressed", (o) =>
        this.toOrder(
          o,
          botClientId("order", o.orderId, o.step, o.status, o.at),
          `order:${o.orderId} ${o.step}: ${o.status}${o.detail ? ` (${o.detail})` : ""}.`,
        ),
      ),
      bus.on("orderConfirmed", (o) =>
        this.toOrder(
          o,
          botClientId("order", o.orderId, "confirmed"),
          `order:${o.orderId} confirmed, total ${money(o.totalMinor, o.currency)}.`,
        ),
      ),
      bus.on("orderCancelled", (o) =>
        this.toOrder(o, botClientId("order", o.orderId, "cancelled"), `order:${o.orderId} cancelled: ${o.reason}.`),
      ),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** The site an alert's subject belongs to (through the fleet directory). */
  siteOf(a: Pick<AlertView, "subjectKind" | "subjectId">): string | undefined {
    const dir = this.directory();
    return a.subjectKind === "device" ? dir.device(a.subjectId)?.siteId : dir.edge(a.subjectId)?.siteId;
  }

  private onAlert(a: AlertView): Promise<void> | undefined {
    const site = this.siteOf(a);
    if (!site) return undefined;
    const ref = `!alert-${a.id}`;
    const subject = `#${a.subjectId}`;
    if (a.state === "resolved")
      return this.toSite(site, botClientId("alert", a.id, "resolved"), `${ref} resolved by @${a.resolvedBy ?? "?"}.`);
    if (a.state === "acknowledged") {
      return this.toSite(site, botClientId("alert", a.id, "ack"), `${ref} acknowledged by @${a.acknowledgedBy ?? "?"}.`);
    }
    if (!a.active) return this.toSite(site, botClientId("alert", a.id, "cleared"), `${ref} on ${subject}: the condition cleared.`);
    return this.toSite(
      site,
      botClientId("alert", a.id, "open"),
      `${a.severity.toUpperCase()} ${a.ruleName} on ${subject}: ${a.message} (${ref}; /ack ${a.id.slice(0, 8)})`,
    );
  }

  private onGap(g: GapRecorded): Promise<void> | undefined {
    const site = this.directory().edge(g.edgeId)?.siteId;
    if (!site) return undefined;
    const count = g.count > 0 ? `${g.count} readings` : "an unknown number of readings";
    return this.toSite(
      site,
      botClientId("gap", g.edgeId, g.lane, g.firstSeq, g.lastSeq),
      `Gap on #${g.edgeId} (${g.lane}): ${count}, seq ${g.firstSeq}–${g.lastSeq}: ${g.reason}.`,
    );
  }

  /**
   * Rooms already made with their whole scope (site, and for an order its buyer): a post into one
   * skips the room's insert-or-ignore and read (the bot posts 6–8 times per order). Bounded.
   */
  private readonly complete = new Set<string>();

  private remember(room: { id: string; siteId: string | null; owner: string | null; kind: string }): void {
    if (room.siteId === null || (room.kind === "order" && room.owner === null)) return;
    if (this.complete.size >= 10_000) this.complete.clear();
    this.complete.add(room.id);
  }

  private async toSite(siteId: string, clientId: string, text: string): Promise<void> {
    if (this.complete.has(`site:${siteId}`)) {
      await this.chat.post(`site:${siteId}`, clientId, text);
      return;
    }
    const name =
      this.directory()
        .sites()
        .find((s) => s.id === siteId)?.name ?? siteId;
    this.remember(await this.chat.store.ensureRoom({ id: `site:${siteId}`, kind: "site", name, siteId }));
    await this.chat.post(`site:${siteId}`, clientId, text);
  }

  /**
   * The order's room is made when the order is placed (its buyer and site decide who is in it,
   * membership.ts). An event heard before that (or for an order placed before chat listened)
   * makes it too, asking commerce's read model who placed the order.
   */
  private async toOrder(o: { orderId: string; siteId: string; placedBy?: string }, clientId: string, text: string): Promise<void> {
    const id = `order:${o.orderId}`;
    // The events of one order arrive together (one relay drain): the first makes the room, the
    // others wait for it instead of each making it again.
    const inFlight = this.complete.has(id) ? undefined : this.making.get(id);
    if (inFlight) await inFlight.catch(() => undefined);
    if (this.complete.has(id)) {
      await this.chat.post(id, clientId, text);
      return;
    }
    const making = this.makeOrderRoom(id, o);
    this.making.set(id, making);
    try {
      await making;
    } finally {
      if (this.making.get(id) === making) this.making.delete(id);
    }
    await this.chat.post(id, clientId, text);
  }

  /** Order rooms being made now, by room id. */
  private readonly making = new Map<string, Promise<void>>();

  private async makeOrderRoom(id: string, o: { orderId: string; siteId: string; placedBy?: string }): Promise<void> {
    let owner = o.placedBy;
    if (owner === undefined) {
      const room = await this.chat.store.room(id);
      if (!room || room.owner === null) owner = (await this.orders().order(o.orderId))?.placedBy;
    }
    this.remember(
      await this.chat.store.ensureRoom({ id, kind: "order", name: `Order ${o.orderId}`, siteId: o.siteId, ...(owner ? { owner } : {}) }),
    );
  }
}
