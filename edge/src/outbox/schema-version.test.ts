/**
 * Agent updates roll back, so an older agent may open the outbox a newer one wrote: it opens it when
 * the newer schema says it still may, and otherwise refuses with OUTBOX_TOO_NEW and changes nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBvError } from "@bitvelocity/common";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "./outbox.js";
import { MIN_READER_VERSION, SCHEMA_VERSION } from "./schema.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-outbox-schema-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const reading = (i: number) => ({ deviceId: "dev-1", deviceType: "env-sensor", values: { temperature: i } });

function dbFile(): string {
  const name = readdirSync(dir).find((f) => f.endsWith(".db"));
  if (!name) throw new Error(`no database in ${dir}`);
  return join(dir, name);
}

/** What a newer agent leaves behind: a higher user_version, an extra table, and its min_reader_version. */
function makeNewer(minReader: number): void {
  const db = new Database(dbFile());
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.exec("CREATE TABLE IF NOT EXISTS future_things (id INTEGER PRIMARY KEY)");
  db.prepare("UPDATE meta SET value = ? WHERE key = 'min_reader_version'").run(String(minReader));
  db.close();
}

describe("outbox schema versions", () => {
  it("stamps a new database with its schema and the oldest schema that may write it", async () => {
    const outbox = Outbox.open({ dir, bootId: "b" });
    await outbox.append(reading(1));
    outbox.close();
    const db = new Database(dbFile(), { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'min_reader_version'").get()).toEqual({ value: String(MIN_READER_VERSION) });
    db.close();
  });

  it("opens a newer agent's outbox that older agents may still write, keeps its readings and its version", async () => {
    const first = Outbox.open({ dir, bootId: "b" });
    await first.append(reading(1));
    await first.append(reading(2));
    first.close();
    makeNewer(SCHEMA_VERSION);

    const older = Outbox.open({ dir, bootId: "b2" });
    expect(older.peek({ limit: 10, maxBytes: 1e6 }).map((r) => r.values.temperature)).toEqual([1, 2]);
    await older.append(reading(3));
    older.close();
    const db = new Database(dbFile(), { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
    db.close();
  });

  it("refuses, with OUTBOX_TOO_NEW, an outbox its schema may not write, and leaves the file untouched", async () => {
    const first = Outbox.open({ dir, bootId: "b" });
    await first.append(reading(1));
    first.close();
    makeNewer(SCHEMA_VERSION + 1);
    const before = readFileSync(dbFile());

    let error: unknown;
    try {
      Outbox.open({ dir, bootId: "b2" });
    } catch (err) {
      error = err;
    }
    expect(isBvError(error, "OUTBOX_TOO_NEW")).toBe(true);
    expect((error as Error).message).toContain("written by a newer agent");
    expect(readFileSync(dbFile()).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes("corrupt"))).toEqual([]);
  });
});
