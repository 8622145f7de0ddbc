/**
 * Operator accounts: seeded from config (`users:`), plus the admin bootstrap. Passwords are
 * stored only as scrypt hashes.
 */
import { generateSecret, hashSecret, type Logger, verifySecret } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { CloudConfig } from "../platform/config.js";
import type { Database } from "../platform/database.js";
import { isRole, type Role, type User } from "./roles.js";
import type { IdentityTables } from "./tables.js";

export class UserStore {
  private readonly db: Kysely<IdentityTables>;

  constructor(db: Database) {
    this.db = db.withTables<IdentityTables>();
  }

  async find(username: string): Promise<(User & { passwordHash: string }) | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    if (!row || !isRole(row.role)) return undefined;
    return { username: row.username, role: row.role, passwordHash: row.password_hash };
  }

  /** Checks a password; undefined for an unknown user or a wrong password (same cost either way). */
  async verify(username: string, password: string): Promise<User | undefined> {
    const user = await this.find(username);
    // Hash something even for unknown users, so timing does not reveal who exists.
    const ok = verifySecret(password, user?.passwordHash ?? DUMMY_HASH);
    return user && ok ? { username: user.username, role: user.role } : undefined;
  }

  async upsert(username: string, role: Role, passwordHash: string, source: "config" | "bootstrap" | "api"): Promise<void> {
    await this.db
      .insertInto("users")
      .values({ username, role, password_hash: passwordHash, source, created_at: Date.now() })
      .onConflict((oc) => oc.column("username").doUpdateSet({ role, password_hash: passwordHash, source }))
      .execute();
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
