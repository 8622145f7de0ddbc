/**
 * Login sessions: a random token goes to the browser (HTTP-only cookie `bv_session`, or a
 * Bearer header); only its SHA-256 is stored. Sessions expire after session_ttl_hours.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import { isRole, type User } from "./roles.js";
import type { IdentityTables } from "./tables.js";

export const SESSION_COOKIE = "bv_session";

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface Session {
  readonly token: string;
  readonly expiresAt: number;
  readonly user: User;
}

export class SessionStore {
  private readonly db: Kysely<IdentityTables>;
  private readonly revokedListeners = new Set<() => void>();

  constructor(
    db: Database,
    private readonly ttlMs: number,
  ) {
    this.db = db.withTables<IdentityTables>();
  }

  async create(user: User): Promise<Session> {
    const token = randomBytes(32).toString("base64url");
    const now = Date.now();
    const expiresAt = now + this.ttlMs;
    await this.db
      .insertInto("sessions")
      .values({ token_hash: tokenHash(token), username: user.username, created_at: now, expires_at: expiresAt })
      .execute();
    return { token, expiresAt, user };
  }

  /** The session's user, or undefined for an unknown, expired or malformed token. */
  async resolve(token: string | undefined): Promise<User | undefined> {
    if (!token || token.length > 256) return undefined;
    const row = await this.db
      .selectFrom("sessions")
      .innerJoin("users", "users.username", "sessions.username")
      .select(["users.username", "users.role", "sessions.expires_at"])
      .where("sessions.token_hash", "=", tokenHash(token))
      .where("users.disabled_at", "is", null)
      .executeTakeFirst();
    if (!row || row.expires_at <= Date.now() || !isRole(row.role)) return undefined;
    return { username: row.username, role: row.role };
  }

  async delete(token: string): Promise<void> {
    await this.db.deleteFrom("sessions").where("token_hash", "=", tokenHash(token)).execute();
    for (const fn of this.revokedListeners) fn();
  }

  /** Ends every session of the user (disabled by an admin); live connections re-check at once. */
  async deleteForUser(username: string): Promise<void> {
    await this.db.deleteFrom("sessions").where("username", "=", username).execute();
    for (const fn of this.revokedListeners) fn();
  }

  /** Called after a logout, so long-lived connections (socket.io) can re-check who they serve. */
  onRevoked(fn: () => void): () => void {
    this.revokedListeners.add(fn);
    return () => this.revokedListeners.delete(fn);
  }

  async purgeExpired(now = Date.now()): Promise<number> {
    const result = await this.db.deleteFrom("sessions").where("expires_at", "<=", now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** Reads the session token from a Cookie header value. */
export function tokenFromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Reads a `Bearer <token>` Authorization header. */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}
