/**
 * The outbox under storage faults: a corrupt file (moved aside, salvaged, never a crash loop),
 * another process holding the lock, and a full disk (a real, small tmpfs).
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBvError } from "@bitvelocity/common";
import Database from "better-sqlite3";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeControlBody } from "./control-body.js";
import { Outbox } from "./outbox.js";
import type { GapRecordInput } from "./types.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-outbox-faults-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const reading = (i: number) => ({ deviceId: `dev-${i % 5}`, deviceType: "env-sensor", values: { temperature: i % 80 } });

async function appendMany(outbox: Outbox, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i += 500)
    seqs.push(...(await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, k) => outbox.append(reading(i + k))))));
  return seqs;
}

function gapRanges(outbox: Outbox) {
  return outbox
    .peekControl(10_000)
    .filter((c) => c.kind === "gap")
    .map((c) => decodeControlBody(c.body) as GapRecordInput);
}

describe("Outbox with a corrupt file", () => {
  it("starts fresh when the file is not a database at all, and keeps seqs above anything handed out", async () => {
    writeFileSync(join(dir, "outbox.db"), "this is not an SQLite database, it is a text file ".repeat(200));
    const alarms: string[] = [];
    const outbox = Outbox.open({ dir, bootId: "b", onAlarm: (code, detail) => detail && alarms.push(code) });
    expect(alarms).toEqual(["OUTBOX_CORRUPT_RECOVERED"]);
    expect(outbox.stats().alarms[0]).toMatch(/^OUTBOX_CORRUPT_RECOVERED: .*outbox\.db\.corrupt-/);
    expect(readdirSync(dir).some((f) => f.startsWith("outbox.db.corrupt-"))).toBe(true);
    const seq = await outbox.append(reading(1));
    expect(seq).toBeGreaterThan(1_000_000_000);
    const gaps = gapRanges(outbox);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ reason: "outbox-corrupt", count: 0 });
    outbox.close();
  });

  it("salvages every readable reading from a file with damaged pages; the unreadable ranges become gap records", async () => {
    let outbox = Outbox.open({ dir, bootId: "b" });
    const seqs = await appendMany(outbox, 6000);
    outbox.close();
    const path = join(dir, "outbox.db");
    const pageSize = 4096;
    const pages = statSync(path).size / pageSize;
    // Overwrite two pages in the middle of the readings table with garbage.
    const fd = openSync(path, "r+");
    for (const page of [Math.floor(pages / 3), Math.floor(pages / 2)])
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, page * pageSize);
    closeSync(fd);

    outbox = Outbox.open({ dir, bootId: "b2", registry: new Registry() });
    const stored = outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq);
    const gaps = gapRanges(outbox);
    expect(stored.length).toBeGreaterThan(4000);
    expect(stored.length).toBeLessThan(6000);
    // Every reading the old file held is either salvaged or inside a recorded gap.
    const unaccounted = seqs.filter((s) => !stored.includes(s) && !gaps.some((g) => s >= g.firstSeq && s <= g.lastSeq));
    expect(unaccounted).toEqual([]);
    expect(stored.every((s) => !gaps.some((g) => s >= g.firstSeq && s <= g.lastSeq))).toBe(true);
    const next = await outbox.append(reading(7));
    expect(next).toBeGreaterThan(Math.max(...seqs));
    outbox.close();
    // A second start does not recover again: the fresh file is healthy.
    outbox = Outbox.open({ dir, bootId: "b3" });
    expect(outbox.stats().alarms).toEqual([]);
    outbox.close();
  });
});

describe("Outbox when another process holds the lock", () => {
  it("refuses appends with OUTBOX_LOCKED and an alarm, and recovers when the lock is released", async () => {
    const outbox = Outbox.open({ dir, bootId: "b", busyTimeoutMs: 50 });
    await outbox.append(reading(1));
    const other = new Database(join(dir, "outbox.db"));
    other.exec("BEGIN EXCLUSIVE");
    const err = await outbox.append(reading(2)).catch((e: unknown) => e);
    expect(isBvError(err, "OUTBOX_LOCKED")).toBe(true);
    expect(outbox.stats().alarms.some((a) => a.startsWith("OUTBOX_LOCKED"))).toBe(true);
    other.exec("ROLLBACK");
    other.close();
    await expect(outbox.append(reading(3))).resolves.toBeGreaterThan(0);
    expect(outbox.stats().alarms).toEqual([]);
    outbox.close();
  });
});

/** A real 4 MB file system: mounting needs root (as on CI); elsewhere the test says why it skips. */
function smallDisk(): string | undefined {
  const mount = join(dir, "disk");
  mkdirSync(mount);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount], { stdio: "ignore" });
    return mount;
  } catch {
    console.warn("skipping the disk-full test: mounting a small tmpfs needs root");
    return undefined;
  }
}

describe("Outbox on a full disk", () => {
  it("fits its budget to the disk, survives ENOSPC with an alarm, and never loses an acknowledged reading", async (ctx) => {
    const disk = smallDisk();
    if (!disk) return ctx.skip();
    try {
      const data = join(disk, "edge");
      const outbox = Outbox.open({ dir: data, bootId: "b", budgetBytes: 256 * 1024 * 1024, registry: new Registry() });
      // The budget was lowered to what the disk can hold.
      expect(outbox.stats().budgetBytes).toBeLessThan(4 * 1024 * 1024);
      expect(outbox.stats().alarms.some((a) => a.startsWith("OUTBOX_DISK_SHORT"))).toBe(true);
      const acked = await appendMany(outbox, 2000);
      // Something else fills the disk behind the outbox's back.
      const filler = join(disk, "filler");
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k", "count=1000"], { stdio: "ignore" });
      } catch {
        // dd stops with ENOSPC: the disk is now full, which is the point
      }
      const results = await Promise.allSettled(Array.from({ length: 3000 }, (_, i) => outbox.append(reading(i))));
      const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      expect(failures.every((e) => isBvError(e, "OUTBOX_DISK_FULL"))).toBe(true);
      for (const r of results) if (r.status === "fulfilled") acked.push(r.value);
      rmSync(filler);
      await expect(outbox.append(reading(1))).resolves.toBeGreaterThan(0);
      // Every acknowledged reading is stored or accounted for by a gap record.
      const stored = new Set(outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq));
      const gaps = gapRanges(outbox);
      const unaccounted = acked.filter((s) => !stored.has(s) && !gaps.some((g) => s >= g.firstSeq && s <= g.lastSeq));
      expect(unaccounted).toEqual([]);
      outbox.close();
      expect(existsSync(join(data, "outbox.db"))).toBe(true);
    } finally {
      execFileSync("umount", ["-l", disk], { stdio: "ignore" });
    }
  });
});
