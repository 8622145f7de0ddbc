/**
 * Rooms, messages and read markers in cloud.db through Kysely (SQLite or PostgreSQL, same
 * queries). Every change to a room takes the room's next number inside one transaction that
 * first bumps `chat_rooms.last_seq`: the row lock orders concurrent writers (also on two cloud
 * nodes sharing PostgreSQL), so numbers are strictly increasing and commit in order.
 */
import type { ChatMessage, RoomKind } from "@bitvelocity/api";
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import type { Database } from "../platform/database.js";
import { Precompiled } from "../platform/precompiled.js";
import type { ChatTables } from "./tables.js";

export interface RoomRow {
  readonly id: string;
  readonly kind: RoomKind;
  readonly name: string;
  readonly members: readonly [string, string] | null;
  /** The site of a site or order room (null on rooms made before rooms had one). */
  readonly siteId: string | null;
  /** Who placed the order of an order room. */
  readonly owner: string | null;
  readonly lastSeq: number;
}

export interface NewRoom {
  readonly id: string;
  readonly kind: RoomKind;
  readonly name: string;
  readonly members?: readonly [string, string];
  readonly siteId?: string;
  readonly owner?: string;
}

export interface NewMessage {
  readonly roomId: string;
  readonly clientId: string;
  readonly author: string;
  readonly kind: "user" | "bot";
  readonly text: string;
  readonly mentions: readonly string[];
}

function toMessage(row: Selectable<ChatTables["chat_messages"]>): ChatMessage {
  return {
    roomId: row.room_id,
    seq: Number(row.seq),
    rev: Number(row.rev),
    clientId: row.client_id,
    author: row.author,
    kind: row.kind === "bot" ? "bot" : "user",
    text: row.text,
    mentions: JSON.parse(row.mentions) as string[],
    createdAt: Number(row.created_at),
    editedAt: row.edited_at === null ? null : Number(row.edited_at),
    deleted: row.deleted === 1,
  };
}

function toRoom(row: Selectable<ChatTables["chat_rooms"]>): RoomRow {
  return {
    id: row.id,
    kind: row.kind as RoomKind,
    name: row.name,
    members: row.member_a !== null && row.member_b !== null ? [row.member_a, row.member_b] : null,
    siteId: row.site_id,
    owner: row.owner,
    lastSeq: Number(row.last_seq),
  };
}

export interface PostResult {
  readonly message: ChatMessage;
  readonly created: boolean;
}

/** A message's two writes (the bot posts six per order), written out: see platform/precompiled.ts. */
const NEXT_SEQ = new Precompiled<{ last_seq: number | string }>(
  'update "chat_rooms" set "last_seq" = "last_seq" + 1 where "id" = ? returning "last_seq"',
);
const INSERT_MESSAGE = new Precompiled<{ seq: number | string }>(
  'insert into "chat_messages" ("room_id", "seq", "rev", "client_id", "author", "kind", "text", "mentions", "created_at", "edited_at", "deleted") ' +
    'values (?, ?, ?, ?, ?, ?, ?, ?, ?, null, 0) on conflict ("room_id", "author", "client_id") do nothing returning "seq"',
);

export class ChatStore {
  private readonly db: Kysely<ChatTables>;

  constructor(db: Database) {
    this.db = db.withTables<ChatTables>();
  }

  /** Creates the room if it does not exist (idempotent, also when two nodes race). */
  async ensureRoom(room: NewRoom): Promise<RoomRow> {
    await this.db
      .insertInto("chat_rooms")
      .values({
        id: room.id,
        kind: room.kind,
        name: room.name,
        member_a: room.members?.[0] ?? null,
        member_b: room.members?.[1] ?? null,
        site_id: room.siteId ?? null,
        owner: room.owner ?? null,
        last_seq: 0,
        created_at: Date.now(),
      })
      .onConflict((oc) => oc.column("id").doNothing())
      .execute();
    let row = await this.room(room.id);
    if (!row) throw new Error(`room ${room.id} vanished after its creation`);
    // A room made before rooms had a scope (or by an event that did not know it) learns it now.
    if ((row.siteId === null && room.siteId) || (row.owner === null && room.owner)) {
      await this.db
        .updateTable("chat_rooms")
        .set({ site_id: row.siteId ?? room.siteId ?? null, owner: row.owner ?? room.owner ?? null })
        .where("id", "=", room.id)
        .execute();
      row = { ...row, siteId: row.siteId ?? room.siteId ?? null, owner: row.owner ?? room.owner ?? null };
    }
    return row;
  }

  async room(id: string): Promise<RoomRow | undefined> {
    const row = await this.db.selectFrom("chat_rooms").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toRoom(row) : undefined;
  }

  /** Site and order rooms, and the direct rooms `username` is in. */
  async roomsOf(username: string): Promise<RoomRow[]> {
    const rows = await this.db
      .selectFrom("chat_rooms")
      .selectAll()
      .where((eb) => eb.or([eb("kind", "in", ["site", "order"]), eb("member_a", "=", username), eb("member_b", "=", username)]))
      .orderBy("kind")
      .orderBy("id")
      .execute();
    return rows.map(toRoom);
  }

  /** Read markers and unread counts of `username` in the given rooms. */
  async readState(username: string, roomIds: readonly string[]): Promise<Map<string, { readSeq: number; unread: number }>> {
    const out = new Map<string, { readSeq: number; unread: number }>();
    if (roomIds.length === 0) return out;
    const reads = await this.db
      .selectFrom("chat_reads")
      .select(["room_id", "seq"])
      .where("username", "=", username)
      .where("room_id", "in", roomIds)
      .execute();
    const readSeq = new Map(reads.map((r) => [r.room_id, Number(r.seq)]));
    const counts = await this.db
      .selectFrom("chat_messages as m")
      .leftJoin("chat_reads as r", (j) => j.onRef("r.room_id", "=", "m.room_id").on("r.username", "=", username))
      .select(["m.room_id", sql<number | string>`count(*)`.as("n")])
      .where("m.room_id", "in", roomIds)
      .where("m.author", "<>", username)
      .where("m.deleted", "=", 0)
      .where(sql<boolean>`m.seq > coalesce(r.seq, 0)`)
      .groupBy("m.room_id")
      .execute();
    const unread = new Map(counts.map((c) => [c.room_id, Number(c.n)]));
    for (const id of roomIds) out.set(id, { readSeq: readSeq.get(id) ?? 0, unread: unread.get(id) ?? 0 });
    return out;
  }

  async markRead(roomId: string, username: string, seq: number): Promise<void> {
    await this.db
      .insertInto("chat_reads")
      .values({ room_id: roomId, username, seq })
      .onConflict((oc) =>
        oc
          .columns(["room_id", "username"])
          .doUpdateSet({ seq: sql`case when excluded.seq > chat_reads.seq then excluded.seq else chat_reads.seq end` }),
      )
      .execute();
  }

  async byClientId(roomId: string, author: string, clientId: string): Promise<ChatMessage | undefined> {
    const row = await this.db
      .selectFrom("chat_messages")
      .selectAll()
      .where("room_id", "=", roomId)
      .where("author", "=", author)
      .where("client_id", "=", clientId)
      .executeTakeFirst();
    return row ? toMessage(row) : undefined;
  }

  async message(roomId: string, seq: number): Promise<ChatMessage | undefined> {
    const row = await this.db
      .selectFrom("chat_messages")
      .selectAll()
      .where("room_id", "=", roomId)
      .where("seq", "=", seq)
      .executeTakeFirst();
    return row ? toMessage(row) : undefined;
  }

  private posts: { m: NewMessage; resolve: (r: PostResult) => void; reject: (err: unknown) => void }[] = [];

  /**
   * Stores a message; a retry with the same (room, author, clientId) returns the first one,
   * `created: false`. Messages posted in the same turn of the event loop are stored in one
   * transaction (the bot posts several per order, and a busy room many per turn): one commit for
   * all of them instead of one each.
   */
  post(m: NewMessage): Promise<PostResult> {
    return new Promise((resolve, reject) => {
      this.posts.push({ m, resolve, reject });
      if (this.posts.length === 1) setImmediate(() => void this.storePosts());
    });
  }

  private async storePosts(): Promise<void> {
    const group = this.posts;
    this.posts = [];
    let results: (PostResult | undefined)[];
    try {
      results = await this.db.transaction().execute(async (trx) => {
        const out: (PostResult | undefined)[] = [];
        for (const { m } of group) out.push(await this.insertMessage(trx, m));
        return out;
      });
    } catch {
      // One message spoiled the group (an unknown room, a race on another node): each on its own,
      // so every sender gets its own answer.
      for (const p of group) this.postOne(p.m).then(p.resolve, p.reject);
      return;
    }
    group.forEach((p, i) => {
      const r = results[i];
      if (r) p.resolve(r);
      else this.firstOf(p.m).then(p.resolve, p.reject);
    });
  }

  /**
   * Inserts with the room's next number; a retry (same room, author and client id) inserts nothing,
   * gives its number back and answers undefined. The room's row stays locked by the transaction, so
   * no one takes a number in between.
   */
  private async insertMessage(trx: Transaction<ChatTables>, m: NewMessage): Promise<PostResult | undefined> {
    const seq = await this.nextSeq(trx, m.roomId);
    const row = {
      room_id: m.roomId,
      seq,
      rev: seq,
      client_id: m.clientId,
      author: m.author,
      kind: m.kind,
      text: m.text,
      mentions: JSON.stringify(m.mentions),
      created_at: Date.now(),
      edited_at: null,
      deleted: 0,
    };
    const inserted = await INSERT_MESSAGE.first(trx, [
      row.room_id,
      row.seq,
      row.rev,
      row.client_id,
      row.author,
      row.kind,
      row.text,
      row.mentions,
      row.created_at,
    ]);
    if (inserted) return { message: toMessage(row), created: true };
    await trx
      .updateTable("chat_rooms")
      .set((eb) => ({ last_seq: eb("last_seq", "-", 1) }))
      .where("id", "=", m.roomId)
      .execute();
    return undefined;
  }

  /** One message in its own transaction (after a group failed). */
  private async postOne(m: NewMessage): Promise<PostResult> {
    const r = await this.db.transaction().execute((trx) => this.insertMessage(trx, m));
    return r ?? this.firstOf(m);
  }

  private async firstOf(m: NewMessage): Promise<PostResult> {
    const first = await this.byClientId(m.roomId, m.author, m.clientId);
    if (!first) throw new Error(`message ${m.clientId} in ${m.roomId} neither stored nor found`);
    return { message: first, created: false };
  }

  /** Replaces a message's text (or tombstones it with `deleted`); the change takes the room's next number. */
  async change(
    roomId: string,
    seq: number,
    change: { text: string; mentions: readonly string[]; deleted: boolean },
  ): Promise<ChatMessage | undefined> {
    return this.db
      .transaction()
      .execute(async (trx) => {
        const rev = await this.nextSeq(trx, roomId);
        const updated = await trx
          .updateTable("chat_messages")
          .set({
            rev,
            text: change.text,
            mentions: JSON.stringify(change.mentions),
            edited_at: Date.now(),
            deleted: change.deleted ? 1 : 0,
          })
          .where("room_id", "=", roomId)
          .where("seq", "=", seq)
          .returningAll()
          .executeTakeFirst();
        if (!updated) throw new MissingMessage();
        return toMessage(updated);
      })
      .catch((err: unknown) => {
        if (err instanceof MissingMessage) return undefined;
        throw err;
      });
  }

  /** A page of messages in seq order: the newest `limit` below `before` (all when absent). */
  async history(roomId: string, before: number | undefined, limit: number): Promise<{ messages: ChatMessage[]; more: boolean }> {
    let q = this.db.selectFrom("chat_messages").selectAll().where("room_id", "=", roomId);
    if (before !== undefined) q = q.where("seq", "<", before);
    const rows = await q
      .orderBy("seq", "desc")
      .limit(limit + 1)
      .execute();
    const more = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse().map(toMessage), more };
  }

  /** The changes after a cursor, in rev order (a message appears once, in its latest state). */
  async changes(roomId: string, after: number, limit: number): Promise<{ messages: ChatMessage[]; more: boolean }> {
    const rows = await this.db
      .selectFrom("chat_messages")
      .selectAll()
      .where("room_id", "=", roomId)
      .where("rev", ">", after)
      .orderBy("rev")
      .limit(limit + 1)
      .execute();
    return { messages: rows.slice(0, limit).map(toMessage), more: rows.length > limit };
  }

  private async nextSeq(trx: Transaction<ChatTables>, roomId: string): Promise<number> {
    const row = await NEXT_SEQ.first(trx, [roomId]);
    if (!row) throw new Error(`unknown room ${roomId}`);
    return Number(row.last_seq);
  }
}

class MissingMessage extends Error {}
