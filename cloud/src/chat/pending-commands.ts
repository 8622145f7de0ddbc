/**
 * ChatOps commands waiting for their device's result, in cloud.db: the room to answer in and who
 * asked. A row is written when the command is sent and removed once its result is posted, so a
 * cloud that restarts in between (or another node sharing the database) still posts it.
 */
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import type { ChatTables } from "./tables.js";

export interface PendingCommand {
  readonly commandId: string;
  readonly roomId: string;
  readonly requestedBy: string;
}

export class PendingCommands {
  private readonly db: Kysely<ChatTables>;

  constructor(db: Database) {
    this.db = db.withTables<ChatTables>();
  }

  async add(p: PendingCommand): Promise<void> {
    await this.db
      .insertInto("chat_pending_commands")
      .values({ command_id: p.commandId, room_id: p.roomId, requested_by: p.requestedBy, created_at: Date.now() })
      .onConflict((oc) => oc.column("command_id").doNothing())
      .execute();
  }

  async get(commandId: string): Promise<PendingCommand | undefined> {
    const row = await this.db.selectFrom("chat_pending_commands").selectAll().where("command_id", "=", commandId).executeTakeFirst();
    return row ? { commandId: row.command_id, roomId: row.room_id, requestedBy: row.requested_by } : undefined;
  }

  /** Every waiting command, oldest first. */
  async all(): Promise<PendingCommand[]> {
    const rows = await this.db.selectFrom("chat_pending_commands").selectAll().orderBy("created_at").orderBy("command_id").execute();
    return rows.map((r) => ({ commandId: r.command_id, roomId: r.room_id, requestedBy: r.requested_by }));
  }

  async remove(commandId: string): Promise<void> {
    await this.db.deleteFrom("chat_pending_commands").where("command_id", "=", commandId).execute();
  }
}
