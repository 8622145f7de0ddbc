/**
 * The audit log: who sent which command and who changed what (rules, tokens, alerts). Append
 * only; read by admins. Details are small JSON objects chosen by the caller, never secrets.
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import type { IdentityTables } from "./tables.js";

export interface AuditEntry {
  readonly id: string;
  readonly at: number;
  readonly actor: string;
  /** "session", "token" or "system". */
  readonly via: string;
  readonly action: string;
  readonly target: string;
  readonly detail: Record<string, unknown>;
}

export interface NewAuditEntry {
  readonly actor: string;
  readonly via: string;
  readonly action: string;
  readonly target: string;
  readonly detail?: Record<string, unknown>;
}

export interface AuditQuery {
  readonly limit?: number | undefined;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  /** Entries strictly before this time (paging back). */
  readonly before?: number | undefined;
}

export class AuditLog {
  private readonly db: Kysely<IdentityTables>;

  constructor(db: Database) {
    this.db = db.withTables<IdentityTables>();
  }

  async record(entry: NewAuditEntry): Promise<AuditEntry> {
    const row = {
      id: randomUUID(),
      at: Date.now(),
      actor: entry.actor,
      via: entry.via,
      action: entry.action,
      target: entry.target,
      detail_json: JSON.stringify(entry.detail ?? {}),
    };
    await this.db.insertInto("audit_log").values(row).execute();
    return toEntry(row);
  }

  /** Newest first. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    let q = this.db
      .selectFrom("audit_log")
      .selectAll()
      .orderBy("at", "desc")
      .orderBy("id", "desc")
      .limit(query.limit ?? 100);
    if (query.actor !== undefined) q = q.where("actor", "=", query.actor);
    if (query.action !== undefined) q = q.where("action", "=", query.action);
    if (query.before !== undefined) q = q.where("at", "<", query.before);
    return (await q.execute()).map(toEntry);
  }
}

function toEntry(row: IdentityTables["audit_log"]): AuditEntry {
  return {
    id: row.id,
    at: Number(row.at),
    actor: row.actor,
    via: row.via,
    action: row.action,
    target: row.target,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
  };
}
