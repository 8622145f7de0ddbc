/**
 * Group commit: units of work queued in one turn of the event loop run in one database
 * transaction, each inside its own savepoint. A unit that throws is rolled back to its savepoint
 * and only its caller gets the error (a unique violation, an optimistic-concurrency conflict, a
 * refused reservation); the others carry on and commit together. Each caller's promise settles
 * after the commit, so what it was told is committed is. If the commit itself fails, every unit
 * of the group gets that error, as each would have on its own.
 *
 * A commit costs the same whatever it carries (on SQLite the WAL frames of every page touched,
 * on PostgreSQL a flush of its log), so N units in one transaction cost far less than N
 * transactions (bench/RESULTS.md, "Commerce checkout: separate processes, precompiled statements").
 * At most `concurrency` groups run at once (1 on SQLite, whose one connection serialises writers
 * anyway); units queued meanwhile form the next group. Savepoints work the same on PostgreSQL,
 * but there a group holds every row lock it took (a hot stock row) until its commit.
 */
import type { Kysely, Transaction } from "kysely";
import { Precompiled } from "./precompiled.js";

const SAVEPOINT = new Precompiled("savepoint bv_group_unit");
const ROLLBACK_TO = new Precompiled("rollback to savepoint bv_group_unit");
const RELEASE = new Precompiled("release savepoint bv_group_unit");

interface Unit<DB> {
  readonly work: (tx: Transaction<DB>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit<DB> {
  private queue: Unit<DB>[] = [];
  private scheduled = false;
  private running = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly options: { concurrency: number; maxGroup?: number } = { concurrency: 1 },
  ) {}

  /** Runs `work` in a transaction shared with the other units of this turn; settles after the commit. */
  run<T>(work: (tx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.running >= this.options.concurrency) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.running >= this.options.concurrency || this.queue.length === 0) return;
    const max = this.options.maxGroup ?? 256;
    const group = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
    this.queue = this.queue.length <= max ? [] : this.queue.slice(max);
    this.running++;
    void this.commit(group).finally(() => {
      this.running--;
      this.schedule();
    });
    this.schedule();
  }

  private async commit(group: readonly Unit<DB>[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (tx) => {
        if (group.length === 1) {
          // Alone: its own transaction, no savepoint needed (an error rolls back everything).
          outcomes.push({ ok: true, value: await group[0]!.work(tx) });
          return;
        }
        for (const unit of group) {
          await SAVEPOINT.execute(tx, []);
          try {
            const value = await unit.work(tx);
            await RELEASE.execute(tx, []);
            outcomes.push({ ok: true, value });
          } catch (err) {
            await ROLLBACK_TO.execute(tx, []);
            await RELEASE.execute(tx, []);
            outcomes.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      for (const unit of group) unit.reject(err);
      return;
    }
    group.forEach((unit, i) => {
      const o = outcomes[i]!;
      if (o.ok) unit.resolve(o.value);
      else unit.reject(o.err);
    });
  }
}
