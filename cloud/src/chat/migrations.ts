/**
 * The chat tables in cloud.db. Portable SQL only, so PostgreSQL runs the same list; times are ms
 * since the epoch, booleans integers 0/1.
 *
 * A room's `last_seq` is its counter: every change (message, edit, delete) takes the next number
 * under the room row's lock, so numbers commit in order on SQLite and PostgreSQL alike.
 */
import type { Kysely, Migration } from "kysely";

export const chatMigrations: Record<string, Migration> = {
  "0001_chat": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("chat_rooms")
        .addColumn("id", "varchar(200)", (c) => c.primaryKey())
        .addColumn("kind", "varchar(16)", (c) => c.notNull())
        .addColumn("name", "varchar(200)", (c) => c.notNull())
        .addColumn("member_a", "varchar(64)")
        .addColumn("member_b", "varchar(64)")
        .addColumn("last_seq", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("chat_messages")
        .addColumn("room_id", "varchar(200)", (c) => c.notNull())
        .addColumn("seq", "bigint", (c) => c.notNull())
        .addColumn("rev", "bigint", (c) => c.notNull())
        .addColumn("client_id", "varchar(64)", (c) => c.notNull())
        .addColumn("author", "varchar(64)", (c) => c.notNull())
        .addColumn("kind", "varchar(8)", (c) => c.notNull())
        .addColumn("text", "text", (c) => c.notNull())
        .addColumn("mentions", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("edited_at", "bigint")
        .addColumn("deleted", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("chat_messages_pk", ["room_id", "seq"])
        .execute();
      // A retried send (same author, same client id) finds its message instead of making another.
      await db.schema
        .createIndex("chat_messages_by_client")
        .on("chat_messages")
        .columns(["room_id", "author", "client_id"])
        .unique()
        .execute();
      // Resume: the changes after a cursor.
      await db.schema.createIndex("chat_messages_by_rev").on("chat_messages").columns(["room_id", "rev"]).execute();
      await db.schema
        .createTable("chat_reads")
        .addColumn("room_id", "varchar(200)", (c) => c.notNull())
        .addColumn("username", "varchar(64)", (c) => c.notNull())
        .addColumn("seq", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("chat_reads_pk", ["room_id", "username"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("chat_reads").execute();
      await db.schema.dropTable("chat_messages").execute();
      await db.schema.dropTable("chat_rooms").execute();
    },
  },
  // Who may see a site or order room: its site (site and order rooms) and, for an order room, the
  // user who placed the order (membership.ts). Rooms made before this have none and learn them on use.
  "0002_room_scope": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("chat_rooms").addColumn("site_id", "varchar(200)").execute();
      await db.schema.alterTable("chat_rooms").addColumn("owner", "varchar(64)").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable("chat_rooms").dropColumn("owner").execute();
      await db.schema.alterTable("chat_rooms").dropColumn("site_id").execute();
    },
  },
  // ChatOps commands waiting for their device's result (pending-commands.ts): a restart resumes them.
  "0003_chat_pending_commands": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("chat_pending_commands")
        .addColumn("command_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("room_id", "varchar(200)", (c) => c.notNull())
        .addColumn("requested_by", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("chat_pending_commands").execute();
    },
  },
};
