/**
 * API tokens for automation (scripts, curl): `bvt_<random>` sent as `Authorization: Bearer`.
 * Only the SHA-256 is stored. A token carries a role no higher than its owner's, and acts with
 * the lower of the two at use time, so demoting a user demotes their tokens too.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import { NotFoundError, ValidationError } from "../platform/errors.js";
import { hasRole, isRole, type Role, type User } from "./roles.js";
import type { IdentityTables } from "./tables.js";

export const API_TOKEN_PREFIX = "bvt_";
export const MAX_TOKEN_TTL_DAYS = 3650;

export interface ApiTokenView {
  readonly id: string;
  readonly name: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revoked: boolean;
}

/** The user a request acts as, and whether it came from a session or an API token. */
export interface Principal extends User {
  readonly via: "session" | "token";
}

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

export class ApiTokenStore {
  private readonly db: Kysely<IdentityTables>;
  /** last_used_at is written at most once a minute per token, not on every request. */
  private readonly touched = new Map<string, number>();
  private readonly revokedListeners = new Set<() => void>();

  constructor(db: Database) {
    this.db = db.withTables<IdentityTables>();
  }

  /** Creates a token; the secret is returned once and never stored. */
  async create(owner: User, input: { name?: unknown; role?: unknown; ttl_days?: unknown }): Promise<{ token: string; view: ApiTokenView }> {
    const problems: { path: string; message: string }[] = [];
    const name = input.name;
    if (typeof name !== "string" || name.trim() === "" || name.length > 128)
      problems.push({ path: "name", message: "expected 1-128 characters" });
    const role = input.role ?? owner.role;
    if (!isRole(role)) problems.push({ path: "role", message: "expected viewer, operator or admin" });
    else if (!hasRole(owner.role, role)) problems.push({ path: "role", message: `cannot exceed your own role (${owner.role})` });
    const ttl = input.ttl_days;
    if (ttl !== undefined && ttl !== null && (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_DAYS)) {
      problems.push({ path: "ttl_days", message: `expected an integer from 1 to ${MAX_TOKEN_TTL_DAYS}` });
    }
    if (problems.length > 0) throw new ValidationError("invalid API token request", problems);
    const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
    const now = Date.now();
    const row = {
      id: randomUUID(),
      name: (name as string).trim(),
      token_hash: hash(token),
      username: owner.username,
      role: role as Role,
      created_at: now,
      expires_at: typeof ttl === "number" ? now + ttl * 86_400_000 : null,
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto("api_tokens").values(row).execute();
    return { token, view: toView(row) };
  }

  /** Tokens of one user, or of everyone when `username` is undefined. */
  async list(username?: string): Promise<ApiTokenView[]> {
    let q = this.db.selectFrom("api_tokens").selectAll().orderBy("created_at", "desc");
    if (username !== undefined) q = q.where("username", "=", username);
    return (await q.execute()).map(toView);
  }

  async get(id: string): Promise<ApiTokenView | undefined> {
    const row = await this.db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toView(row) : undefined;
  }

  /** Revokes a token (again is harmless). */
  async revoke(id: string): Promise<ApiTokenView> {
    await this.db.updateTable("api_tokens").set({ revoked_at: Date.now() }).where("id", "=", id).where("revoked_at", "is", null).execute();
    const view = await this.get(id);
    if (!view) throw new NotFoundError("API token", id);
    for (const fn of this.revokedListeners) fn();
    return view;
  }

  /** Called after a revocation, so long-lived connections (socket.io) can re-check who they serve. */
  onRevoked(fn: () => void): () => void {
    this.revokedListeners.add(fn);
    return () => this.revokedListeners.delete(fn);
  }

  /** The user a token acts as, or undefined for an unknown, revoked or expired token. */
  async resolve(token: string | undefined): Promise<User | undefined> {
    if (!token?.startsWith(API_TOKEN_PREFIX) || token.length > 256) return undefined;
    const row = await this.db
      .selectFrom("api_tokens")
      .innerJoin("users", "users.username", "api_tokens.username")
      .select([
        "api_tokens.id",
        "api_tokens.role",
        "api_tokens.expires_at",
        "api_tokens.revoked_at",
        "users.username",
        "users.role as userRole",
      ])
      .where("api_tokens.token_hash", "=", hash(token))
      .where("users.disabled_at", "is", null)
      .executeTakeFirst();
    const now = Date.now();
    if (!row || row.revoked_at !== null || (row.expires_at !== null && Number(row.expires_at) <= now)) return undefined;
    if (!isRole(row.role) || !isRole(row.userRole)) return undefined;
    const last = this.touched.get(row.id) ?? 0;
    if (now - last > 60_000) {
      this.touched.set(row.id, now);
      await this.db.updateTable("api_tokens").set({ last_used_at: now }).where("id", "=", row.id).execute();
    }
    return { username: row.username, role: hasRole(row.userRole, row.role) ? row.role : row.userRole };
  }
}

function toView(row: IdentityTables["api_tokens"]): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    username: row.username,
    role: isRole(row.role) ? row.role : "viewer",
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revoked: row.revoked_at !== null,
  };
}
