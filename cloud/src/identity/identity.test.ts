import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCloudConfig } from "../platform/config.js";
import { type Database, openDatabase } from "../platform/database.js";
import { identityMigrations } from "./migrations.js";
import { LoginRateLimiter } from "./rate-limiter.js";
import { hasRole } from "./roles.js";
import { SessionStore, tokenFromAuthorization, tokenFromCookie } from "./sessions.js";
import { UserStore } from "./users.js";

let dir: string;
let db: Database;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-identity-"));
  db = await openDatabase(dir, [{ name: "identity", migrations: identityMigrations }]);
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("admin bootstrap", () => {
  it("generates and prints an admin password once when none is configured", async () => {
    const users = new UserStore(db);
    const lines: string[] = [];
    const config = loadCloudConfig(undefined, {}, { data_dir: dir });
    await users.seed(config, silentLogger(), (l) => lines.push(l));
    await users.seed(config, silentLogger(), (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    const match = /^bv-cloud: created admin user "admin" with password (\S+)$/.exec(lines[0]!);
    expect(match).not.toBeNull();
    expect(await users.verify("admin", match![1]!)).toEqual({ username: "admin", role: "admin" });
    expect((await users.find("admin"))?.passwordHash).toMatch(/^scrypt\$/);
  });

  it("uses the configured admin password and seeds config users", async () => {
    const users = new UserStore(db);
    const lines: string[] = [];
    const config = loadCloudConfig(
      undefined,
      { BV_ADMIN_PASSWORD: "configured-pw" },
      {
        data_dir: dir,
        users: [{ username: "alice", role: "operator", password_hash: hashSecret("alice-pw", "scrypt") }],
      },
    );
    await users.seed(config, silentLogger(), (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(await users.verify("admin", "configured-pw")).toEqual({ username: "admin", role: "admin" });
    expect(await users.verify("alice", "alice-pw")).toEqual({ username: "alice", role: "operator" });
    expect(await users.verify("alice", "wrong")).toBeUndefined();
    expect(await users.verify("nobody", "alice-pw")).toBeUndefined();
  });
});

describe("sessions", () => {
  it("stores only a hash, resolves until expiry, and deletes on logout", async () => {
    const users = new UserStore(db);
    await users.upsert("alice", "operator", hashSecret("pw", "scrypt"), "api");
    const sessions = new SessionStore(db, 60_000);
    const s = await sessions.create({ username: "alice", role: "operator" });
    const raw = await db.withTables<{ sessions: { token_hash: string } }>().selectFrom("sessions").select("token_hash").execute();
    expect(raw.map((r) => r.token_hash)).not.toContain(s.token);
    expect(await sessions.resolve(s.token)).toEqual({ username: "alice", role: "operator" });
    expect(await sessions.resolve(`${s.token}x`)).toBeUndefined();
    expect(await sessions.resolve(undefined)).toBeUndefined();
    await sessions.delete(s.token);
    expect(await sessions.resolve(s.token)).toBeUndefined();
    const expired = await new SessionStore(db, -1).create({ username: "alice", role: "operator" });
    expect(await sessions.resolve(expired.token)).toBeUndefined();
    expect(await sessions.purgeExpired()).toBe(1);
  });

  it("reads tokens from cookies and Bearer headers", () => {
    expect(tokenFromCookie("a=1; bv_session=abc%2Fd; b=2")).toBe("abc/d");
    expect(tokenFromCookie("a=1")).toBeUndefined();
    expect(tokenFromCookie("bv_session=%E0%A4%A")).toBeUndefined();
    expect(tokenFromAuthorization("Bearer tok")).toBe("tok");
    expect(tokenFromAuthorization("Basic tok")).toBeUndefined();
  });
});

describe("roles and rate limit", () => {
  it("orders roles viewer < operator < admin", () => {
    expect(hasRole("admin", "operator")).toBe(true);
    expect(hasRole("operator", "operator")).toBe(true);
    expect(hasRole("viewer", "operator")).toBe(false);
    expect(hasRole("operator", "admin")).toBe(false);
  });

  it("refuses after 5 failures in a minute, then allows again", () => {
    let now = 1_000_000;
    const limiter = new LoginRateLimiter(5, 60_000, () => now);
    for (let i = 0; i < 5; i++) {
      expect(limiter.retryAfterMs("k")).toBe(0);
      limiter.recordFailure("k");
    }
    expect(limiter.retryAfterMs("k")).toBe(60_000);
    expect(limiter.retryAfterMs("other")).toBe(0);
    now += 60_001;
    expect(limiter.retryAfterMs("k")).toBe(0);
  });
});
