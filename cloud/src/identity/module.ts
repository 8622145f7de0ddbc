/** The identity module: operator accounts, sessions and API tokens (the audit log is the platform's). */
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { ApiTokenStore } from "./api-tokens.js";
import { identityMigrations } from "./migrations.js";
import { SessionStore } from "./sessions.js";
import { userRoutes } from "./user-routes.js";
import { UserStore } from "./users.js";

export interface IdentityModule extends CloudModule {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly tokens: ApiTokenStore;
  readonly sessionTtlMs: number;
}

export function identityModule(): IdentityModule {
  let parts:
    | { users: UserStore; sessions: SessionStore; tokens: ApiTokenStore; sessionTtlMs: number; audit: ModuleContext["audit"] }
    | undefined;
  const get = () => started(parts, "identity", "users, sessions, tokens");
  return {
    name: "identity",
    migrations: identityMigrations,
    publishes: [],
    consumes: [],
    async start(ctx: ModuleContext) {
      const users = new UserStore(ctx.db);
      await users.seed(ctx.config, ctx.logger);
      const sessionTtlMs = ctx.config.session_ttl_hours * 3_600_000;
      const sessions = new SessionStore(ctx.db, sessionTtlMs);
      await sessions.purgeExpired();
      parts = { users, sessions, tokens: new ApiTokenStore(ctx.db), sessionTtlMs, audit: ctx.audit };
    },
    async stop() {
      parts = undefined;
    },
    routes() {
      return userRoutes(get);
    },
    get users() {
      return get().users;
    },
    get sessions() {
      return get().sessions;
    },
    get tokens() {
      return get().tokens;
    },
    get sessionTtlMs() {
      return get().sessionTtlMs;
    },
  };
}
