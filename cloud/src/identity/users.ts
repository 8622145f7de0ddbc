/**
 * Operator accounts: seeded from config (`users:`), plus the admin bootstrap. Passwords are
 * stored only as scrypt hashes.
 */
import { BvError, generateSecret, hashSecret, type Logger, verifySecret } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { CloudConfig } from "../platform/config.js";
import type { Database } from "../platform/database.js";
import { isRole, type Role, type User } from "./roles.js";
import type { IdentityTables } from "./tables.js";

/** An account as admins see it. */
export interface Account {
  readonly username: string;
  readonly role: Role;
  readonly disabledAt: number | null;
  readonly source: string;
}

export class UserStore {
  private readonly db: Kysely<IdentityTables>;

  constructor(db: Database) {
    this.db = db.withTables<IdentityTables>();
  }

  async find(username: string): Promise<(User & { passwordHash: string; disabledAt: number | null }) | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    if (!row || !isRole(row.role)) return undefined;
    return {
      username: row.username,
      role: row.role,
      passwordHash: row.password_hash,
      disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
    };
  }

  async list(): Promise<Account[]> {
    const rows = await this.db.selectFrom("users").selectAll().orderBy("username").execute();
    return rows.flatMap((r) =>
      isRole(r.role)
        ? [{ username: r.username, role: r.role, disabledAt: r.disabled_at === null ? null : Number(r.disabled_at), source: r.source }]
        : [],
    );
  }

  async account(username: string): Promise<Account | undefined> {
    return (await this.list()).find((a) => a.username === username);
  }

  /** Applies an admin's change; refuses (LAST_ADMIN) one that would leave no active admin. */
  async update(
    username: string,
    change: { role?: Role | undefined; passwordHash?: string | undefined; disabled?: boolean | undefined },
  ): Promise<Account> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
      if (!row) throw new BvError("NOT_FOUND", "human", `unknown user ${JSON.stringify(username)}`);
      const staysAdmin = (change.role ?? row.role) === "admin" && !(change.disabled ?? row.disabled_at !== null);
      if (row.role === "admin" && row.disabled_at === null && !staysAdmin) {
        const admins = await tx
          .selectFrom("users")
          .select("username")
          .where("role", "=", "admin")
          .where("disabled_at", "is", null)
          .execute();
        if (admins.length <= 1) throw new BvError("CONFLICT", "human", `${username} is the last active admin`);
      }
      const set: Partial<IdentityTables["users"]> = {};
      if (change.role !== undefined) set.role = change.role;
      if (change.passwordHash !== undefined) set.password_hash = change.passwordHash;
      if (change.disabled !== undefined) set.disabled_at = change.disabled ? (row.disabled_at ?? Date.now()) : null;
      await tx.updateTable("users").set(set).where("username", "=", username).execute();
      const after = { ...row, ...set };
      return {
        username,
        role: after.role as Role,
        disabledAt: after.disabled_at === null ? null : Number(after.disabled_at),
        source: after.source,
      };
    });
  }

  /** Checks a password; undefined for an unknown user or a wrong password (same cost either way). */
  async verify(username: string, password: string): Promise<User | undefined> {
    const user = await this.find(username);
    // Hash something even for unknown users, so timing does not reveal who exists.
    const ok = verifySecret(password, user?.passwordHash ?? DUMMY_HASH);
    return user && ok && user.disabledAt === null ? { username: user.username, role: user.role } : undefined;
  }

  async upsert(username: string, role: Role, passwordHash: string, source: "config" | "bootstrap" | "api"): Promise<void> {
    await this.db
      .insertInto("users")
      .values({ username, role, password_hash: passwordHash, source, created_at: Date.now() })
      .onConflict((oc) => oc.column("username").doUpdateSet({ role, password_hash: passwordHash, source }))
      .execute();
  }

  /** A new account; CONFLICT when the name is taken. */
  async create(username: string, role: Role, passwordHash: string): Promise<Account> {
    const result = await this.db
      .insertInto("users")
      .values({ username, role, password_hash: passwordHash, source: "api", created_at: Date.now(), disabled_at: null })
      .onConflict((oc) => oc.column("username").doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new BvError("CONFLICT", "human", `user ${username} already exists`);
    return { username, role, disabledAt: null, source: "api" };
  }

  async hasAdmin(): Promise<boolean> {
    const row = await this.db.selectFrom("users").select("username").where("role", "=", "admin").executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Seeds config users and bootstraps the admin: with `admin.password` the admin gets that
   * password; without one, if no admin exists yet, a password is generated and printed once.
   */
  async seed(config: CloudConfig, logger: Logger, print: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
    for (const u of config.users) await this.upsert(u.username, u.role, u.password_hash, "config");
    const { username, password } = config.admin;
    if (password !== undefined) {
      const existing = await this.find(username);
      const current = existing?.role === "admin" && verifySecret(password, existing.passwordHash);
      if (!current) {
        await this.upsert(username, "admin", hashSecret(password, "scrypt"), "bootstrap");
        logger.info({ username }, "admin password set from configuration");
      }
      return;
    }
    if (await this.hasAdmin()) return;
    const generated = generateSecret(12);
    await this.upsert(username, "admin", hashSecret(generated, "scrypt"), "bootstrap");
    print(`bv-cloud: created admin user "${username}" with password ${generated}`);
  }
}

const DUMMY_HASH = hashSecret("not a real password", "scrypt");
