import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgres } from "@bitvelocity/common/test-services";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { cloudModules } from "./main.js";
import { openDatabase } from "./platform/database.js";
import { openPostgres } from "./platform/postgres.js";
import { repositoryContract } from "./repositories.contract.js";

let dir = "";
repositoryContract("sqlite", {
  async open() {
    dir = mkdtempSync(join(tmpdir(), "bv-repo-"));
    return openDatabase(dir, cloudModules().modules);
  },
  reopen: () => openDatabase(dir, cloudModules().modules),
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

const pgService = await postgres();
const skip = pgService.available ? "" : ` (skipped: ${pgService.reason})`;
const url = pgService.available ? pgService.url : "";

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

describe.skipIf(!pgService.available)(`PostgreSQL${skip}`, () => {
  // A scratch schema per test: the database `test` is shared.
  let schema = "";
  repositoryContract("postgres", {
    async open() {
      schema = `bv_test_${randomBytes(6).toString("hex")}`;
      return openPostgres({ url, schema, poolSize: 2 }, cloudModules().modules);
    },
    reopen: () => openPostgres({ url, schema, poolSize: 2 }, cloudModules().modules),
    cleanup: () => dropSchema(schema),
  });

  it("refuses an unreachable server and a bad schema name with DB_OPEN_FAILED", async () => {
    await expect(openPostgres({ url: "postgres://postgres@127.0.0.1:9/test" }, cloudModules().modules)).rejects.toMatchObject({
      code: "DB_OPEN_FAILED",
    });
    await expect(openPostgres({ url, schema: "Robert'); DROP TABLE users;--" }, [])).rejects.toMatchObject({ code: "DB_OPEN_FAILED" });
  });
});
