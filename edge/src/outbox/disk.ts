/**
 * Keeping the outbox within the disk it lives on: the budget never exceeds what the file system
 * can hold (minus a reserve), and freed pages go back to the file system once most of the file
 * is free.
 */
import { statfsSync } from "node:fs";
import type Database from "better-sqlite3";
import { usedBytes } from "./schema.js";

/** Kept free on the file system whatever the budget says (at most this, at most a tenth of the disk). */
const DISK_RESERVE_BYTES = 32 * 1024 * 1024;

/** Bytes the outbox may take on this disk, or undefined when the file system cannot be asked. */
export function bytesThatFit(dir: string, db: Database.Database): number | undefined {
  let free: number;
  let reserve: number;
  try {
    const fs = statfsSync(dir);
    free = fs.bavail * fs.bsize;
    reserve = Math.min(DISK_RESERVE_BYTES, (fs.blocks * fs.bsize) / 10);
  } catch {
    return undefined;
  }
  return usedBytes(db) + free - reserve;
}

/** Returns free pages to the file system, only when most of the file is free. */
export function vacuumIfMostlyFree(db: Database.Database): void {
  const pages = db.pragma("page_count", { simple: true }) as number;
  const free = db.pragma("freelist_count", { simple: true }) as number;
  // Vacuum only when most of the file is free: pages about to be reused are not worth the writes.
  if (free > 256 && free > pages / 2) db.pragma(`incremental_vacuum(${free - 128})`);
}
