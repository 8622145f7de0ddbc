/**
 * What the REST routes and the socket handlers both call: access checks, validation, storage,
 * fan-out and @mention notifications. Membership follows what a user may see (membership.ts):
 * a site room its site's users, an order room the buyer and the order's site's users, a direct
 * room its two members.
 */
import { type ChatMessage, type ChatNotice, type ChatRoom, mentionedUsers, type SendResult } from "@bitvelocity/api";
import type { Principal } from "../identity/index.js";
import { HttpError } from "../platform/http.js";
import type { ChatStore, RoomRow } from "./chat-store.js";
import { Membership } from "./membership.js";
import type { ChatPorts } from "./ports.js";
import { SlidingWindow } from "./rate-limit.js";

/** Where changes go once committed (the `/chat` namespace; tests may listen too). */
export interface ChatDelivery {
  message(message: ChatMessage): void;
  mention(username: string, mention: { roomId: string; seq: number; by: string; text: string }): void;
  notice(username: string, notice: ChatNotice): void;
}

/** A slash command's handler (chatops.ts). */
export type CommandRunner = (user: Principal, room: RoomRow, text: string) => Promise<SendResult>;

export const BOT = "bot";
export const PAGE = 50;

export function directRoomId(a: string, b: string): string {
  const [x, y] = [a, b].sort();
  return `dm:${x}:${y}`;
}

export class ChatService {
  private delivery: ChatDelivery = { message() {}, mention() {}, notice() {} };
  private commands: CommandRunner | undefined;
  /** A flood guard; slash commands have their own, tighter limit (chatops.ts). */
  private readonly messageLimit = new SlidingWindow(200, 10_000);
  private readonly known = new Map<string, RoomRow>();

  constructor(
    readonly store: ChatStore,
    private readonly ports: Pick<ChatPorts, "users" | "directory" | "orders">,
    readonly membership: Membership = new Membership(),
  ) {}

  deliverTo(delivery: ChatDelivery): void {
    this.delivery = delivery;
  }

  runCommandsWith(runner: CommandRunner): void {
    this.commands = runner;
  }

  /** The room if `user` may see it; site rooms of known sites and order rooms of known orders come into being on first use. */
  async access(user: Principal, roomId: string): Promise<RoomRow> {
    const room = await this.find(roomId);
    if (!room) throw new HttpError(404, "NOT_FOUND", `unknown room ${JSON.stringify(roomId)}`);
    if (!this.membership.sees(user, room)) {
      const why =
        room.kind === "direct"
          ? "this is a direct room between two other users"
          : `you are not a member of ${room.id} (it belongs to ${room.siteId ? `site ${room.siteId}` : "another site"})`;
      throw new HttpError(403, "FORBIDDEN", why);
    }
    return room;
  }

  /** The room, created from the site list or commerce's order when chat has not made it yet. */
  private async find(roomId: string): Promise<RoomRow | undefined> {
    const known = this.known.get(roomId);
    if (known) return known;
    let room = await this.store.room(roomId);
    if (!room && roomId.startsWith("site:")) {
      const siteId = roomId.slice("site:".length);
      const site = this.ports
        .directory()
        .sites()
        .find((s) => s.id === siteId);
      if (site) room = await this.store.ensureRoom({ id: roomId, kind: "site", name: site.name, siteId });
    }
    // An order room chat has not heard of (or made before rooms had a scope): commerce knows the order.
    if (roomId.startsWith("order:") && (!room || room.siteId === null || room.owner === null)) {
      const order = await this.ports.orders().order(roomId.slice("order:".length));
      if (order) {
        room = await this.store.ensureRoom({
          id: roomId,
          kind: "order",
          name: `Order ${order.id}`,
          siteId: order.siteId,
          owner: order.placedBy,
        });
      }
    }
    if (!room) return undefined;
    // A room's kind and scope never change once known: later checks need no query (lastSeq here may be old).
    if (room.kind !== "order" || (room.siteId !== null && room.owner !== null)) {
      if (this.known.size > 10_000) this.known.clear();
      this.known.set(roomId, room);
    }
    return room;
  }

  async rooms(user: Principal): Promise<ChatRoom[]> {
    const rows = (await this.store.roomsOf(user.username)).filter((r) => this.membership.sees(user, r));
    const state = await this.store.readState(
      user.username,
      rows.map((r) => r.id),
    );
    return rows.map((r) => this.view(r, state.get(r.id)));
  }

  async room(user: Principal, roomId: string): Promise<ChatRoom> {
    const known = await this.access(user, roomId);
    const row = (await this.store.room(roomId)) ?? known;
    const state = await this.store.readState(user.username, [roomId]);
    return this.view(row, state.get(roomId));
  }

  async openDirect(user: Principal, other: string): Promise<ChatRoom> {
    if (other === user.username) throw new HttpError(400, "VALIDATION_FAILED", "a direct room needs another user");
    if (!(await this.ports.users().find(other))) throw new HttpError(404, "NOT_FOUND", `unknown user ${JSON.stringify(other)}`);
    const id = directRoomId(user.username, other);
    const [a, b] = [user.username, other].sort() as [string, string];
    await this.store.ensureRoom({ id, kind: "direct", name: `${a} & ${b}`, members: [a, b] });
    return this.room(user, id);
  }

  async send(user: Principal, roomId: string, clientId: string, text: string): Promise<SendResult> {
    const room = await this.access(user, roomId);
    if (text.startsWith("/")) {
      if (!this.commands) throw new HttpError(503, "UNAVAILABLE", "chat commands are not available");
      return this.commands(user, room, text.trim());
    }
    const retry = await this.store.byClientId(roomId, user.username, clientId);
    if (retry) return { message: retry, notice: null };
    const wait = this.messageLimit.take(user.username);
    if (wait > 0) throw new HttpError(429, "RATE_LIMITED", `too many messages; try again in ${Math.ceil(wait / 1000)} s`);
    const mentions = await this.mentions(room, text);
    const { message, created } = await this.store.post({ roomId, clientId, author: user.username, kind: "user", text, mentions });
    this.delivery.message(message);
    if (created) {
      for (const name of mentions) {
        if (name !== user.username) this.delivery.mention(name, { roomId, seq: message.seq, by: user.username, text: text.slice(0, 200) });
      }
    }
    return { message, notice: null };
  }

  /** The bot's post; idempotent per `clientId` (two nodes hearing the same event post it once). */
  async post(roomId: string, clientId: string, text: string): Promise<ChatMessage> {
    const { message, created } = await this.store.post({ roomId, clientId, author: BOT, kind: "bot", text, mentions: [] });
    if (created) this.delivery.message(message);
    return message;
  }

  notify(username: string, notice: ChatNotice): void {
    this.delivery.notice(username, notice);
  }

  async edit(user: Principal, roomId: string, seq: number, text: string): Promise<ChatMessage> {
    const room = await this.access(user, roomId);
    const m = await this.own(user, roomId, seq, false);
    if (m.deleted) throw new HttpError(409, "CONFLICT", "a deleted message cannot be edited");
    const changed = await this.store.change(roomId, seq, { text, mentions: await this.mentions(room, text), deleted: false });
    return this.deliverChange(changed, roomId, seq);
  }

  async remove(user: Principal, roomId: string, seq: number): Promise<ChatMessage> {
    await this.access(user, roomId);
    const m = await this.own(user, roomId, seq, true);
    if (m.deleted) return m;
    const changed = await this.store.change(roomId, seq, { text: "", mentions: [], deleted: true });
    return this.deliverChange(changed, roomId, seq);
  }

  async history(user: Principal, roomId: string, q: { before?: number; after?: number; limit?: number }) {
    const room = await this.access(user, roomId);
    const limit = q.limit ?? PAGE;
    // The room's number read before the page: a client that follows from it misses nothing
    // (a change committed in between is in the page and arrives again, as a copy it drops).
    const lastSeq = (await this.store.room(roomId))?.lastSeq ?? room.lastSeq;
    const page =
      q.after !== undefined ? await this.store.changes(roomId, q.after, limit) : await this.store.history(roomId, q.before, limit);
    return { ...page, lastSeq };
  }

  async markRead(user: Principal, roomId: string, seq: number): Promise<ChatRoom> {
    const room = await this.access(user, roomId);
    await this.store.markRead(roomId, user.username, Math.min(seq, (await this.store.room(roomId))?.lastSeq ?? room.lastSeq));
    return this.room(user, roomId);
  }

  private async own(user: Principal, roomId: string, seq: number, adminMay: boolean): Promise<ChatMessage> {
    const m = await this.store.message(roomId, seq);
    if (!m) throw new HttpError(404, "NOT_FOUND", `no message ${seq} in ${roomId}`);
    if (m.author !== user.username && !(adminMay && user.role === "admin")) {
      throw new HttpError(403, "FORBIDDEN", "only its author may change a message");
    }
    return m;
  }

  private deliverChange(changed: ChatMessage | undefined, roomId: string, seq: number): ChatMessage {
    if (!changed) throw new HttpError(404, "NOT_FOUND", `no message ${seq} in ${roomId}`);
    this.delivery.message(changed);
    return changed;
  }

  /** The @names in `text` of users who exist and may see the room. */
  private async mentions(room: RoomRow, text: string): Promise<string[]> {
    const out: string[] = [];
    for (const name of mentionedUsers(text).slice(0, 20)) {
      const user = await this.ports.users().find(name);
      if (user && this.membership.sees(user, room)) out.push(name);
    }
    return out;
  }

  private view(r: RoomRow, state: { readSeq: number; unread: number } | undefined): ChatRoom {
    return {
      id: r.id,
      kind: r.kind,
      name: r.name,
      lastSeq: r.lastSeq,
      unread: state?.unread ?? 0,
      readSeq: state?.readSeq ?? 0,
      members: r.members ? [...r.members] : null,
    };
  }
}
