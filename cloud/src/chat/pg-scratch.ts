/**
 * A scratch PostgreSQL database for a test (not a schema: Kysely's migrator finds its lock table
 * in any schema of a database, so a second schema migrated while another exists skips creating
 * its own). Returns its URL and the function that drops it.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export async function scratchDatabase(serverUrl: string, prefix = "bv_chat"): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
