/**
 * The provisioning tables in cloud.db: claim codes (only their hash is kept) and the edges
 * enrolled by a claim (their token hash; rotation and revocation are recorded by ingest's
 * edge_tokens, which overrides it). Portable SQL only; times are ms since the epoch.
 */
import type { Kysely, Migration } from "kysely";

export const provisioningMigrations: Record<string, Migration> = {
  "0001_claims": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("edge_claims")
        .addColumn("id", "varchar(32)", (c) => c.primaryKey())
        .addColumn("code_hash", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_by", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("claimed_at", "bigint")
        .execute();
      await db.schema
        .createTable("provisioned_edges")
        .addColumn("edge_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull())
        .addColumn("claim_id", "varchar(32)", (c) => c.notNull())
        .addColumn("claimed_at", "bigint", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("provisioned_edges").execute();
      await db.schema.dropTable("edge_claims").execute();
    },
  },
};

export type ProvisioningTables = {
  edge_claims: {
    id: string;
    code_hash: string;
    edge_id: string;
    site_id: string;
    name: string;
    created_by: string;
    created_at: number;
    expires_at: number;
    claimed_at: number | null;
  };
  provisioned_edges: {
    edge_id: string;
    site_id: string;
    name: string;
    token_hash: string;
    claim_id: string;
    claimed_at: number;
  };
};
