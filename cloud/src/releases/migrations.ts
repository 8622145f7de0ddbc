/**
 * The releases tables in cloud.db: published agent releases (the package itself is a file in
 * releases.dir) with their rollout, and where each edge's agent update stands. Portable SQL only;
 * times are ms since the epoch.
 */
import type { Kysely, Migration } from "kysely";

export const releasesMigrations: Record<string, Migration> = {
  "0001_releases": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("agent_releases")
        .addColumn("id", "varchar(32)", (c) => c.primaryKey())
        .addColumn("version", "varchar(64)", (c) => c.notNull())
        .addColumn("arch", "varchar(16)", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("sha256", "varchar(64)", (c) => c.notNull())
        .addColumn("signature", "text", (c) => c.notNull())
        .addColumn("health_deadline_s", "integer", (c) => c.notNull())
        .addColumn("rollout_sites", "text", (c) => c.notNull())
        .addColumn("rollout_percent", "integer", (c) => c.notNull())
        .addColumn("created_by", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addUniqueConstraint("agent_releases_version_arch", ["version", "arch"])
        .execute();
      await db.schema
        .createTable("edge_updates")
        .addColumn("edge_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("arch", "varchar(16)", (c) => c.notNull())
        .addColumn("running_version", "varchar(64)", (c) => c.notNull())
        .addColumn("version", "varchar(64)", (c) => c.notNull())
        .addColumn("state", "varchar(32)")
        .addColumn("error", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint")
        .execute();
      // A version an edge refused or rolled back is not offered to it again (until re-published).
      await db.schema
        .createTable("edge_update_failures")
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("release_id", "varchar(32)", (c) => c.notNull())
        .addColumn("state", "varchar(32)", (c) => c.notNull())
        .addColumn("error", "text", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("edge_update_failures_pk", ["edge_id", "release_id"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("edge_update_failures").execute();
      await db.schema.dropTable("edge_updates").execute();
      await db.schema.dropTable("agent_releases").execute();
    },
  },
};

export type ReleasesTables = {
  agent_releases: {
    id: string;
    version: string;
    arch: string;
    size: number;
    sha256: string;
    signature: string;
    health_deadline_s: number;
    rollout_sites: string;
    rollout_percent: number;
    created_by: string;
    created_at: number;
    updated_at: number;
  };
  edge_updates: {
    edge_id: string;
    site_id: string;
    arch: string;
    running_version: string;
    version: string;
    state: string | null;
    error: string;
    updated_at: number | null;
  };
  edge_update_failures: {
    edge_id: string;
    release_id: string;
    state: string;
    error: string;
    at: number;
  };
};
