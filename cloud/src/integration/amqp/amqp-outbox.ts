/**
 * The AMQP outbox: the chosen bus events are recorded in `amqp_outbox` as they happen, and the
 * relay publishes them oldest first with publisher confirms; a row is marked published only after
 * RabbitMQ confirmed it, so a broker outage loses nothing (the rows wait). When the channel fails
 * mid-batch, the messages confirmed before it are marked and only the rest are published again.
 * A message the broker stored but whose confirm was lost with the connection is published again:
 * consumers de-duplicate by message_id (docs/amqp-events.md).
 */
import type { Logger } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { Database } from "../../platform/database.js";
import type { ConfirmPublisher } from "./confirm-publisher.js";

export type AmqpTables = {
  amqp_outbox: { id: string; name: string; routing_key: string; body_json: string; created_at: number; published_at: number | null };
};

let counter = 0;

export class AmqpOutbox {
  private readonly db: Kysely<AmqpTables>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    db: Database,
    private readonly publisher: ConfirmPublisher,
    private readonly logger: Logger,
    private readonly options: { pollMs: number; batch?: number; inFlight?: number },
  ) {
    this.db = db.withTables<AmqpTables>();
  }

  /** Rows recorded since the last write, written together (one transaction) in the order recorded. */
  private buffered: AmqpTables["amqp_outbox"][] = [];

  /**
   * Records an event (in order) and relays it at once. Events recorded in the same turn of the
   * event loop are written in one transaction: one statement and one commit per event capped
   * recording at ~7,700 events/s (bench/RESULTS.md, "GraphQL and AMQP").
   */
  record(name: string, routingKey: string, payload: unknown): void {
    const now = Date.now();
    counter = (counter + 1) % 1_000_000;
    const id = `${String(now).padStart(15, "0")}-${String(counter).padStart(6, "0")}-${process.pid}`;
    this.buffered.push({
      id,
      name,
      routing_key: routingKey,
      body_json: JSON.stringify({ id, event: name, at: now, payload }),
      created_at: now,
      published_at: null,
    });
    if (this.buffered.length === 1) this.writes = this.writes.then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const rows = this.buffered;
    this.buffered = [];
    if (rows.length === 0) return;
    try {
      await this.db.transaction().execute(async (tx) => {
        for (let i = 0; i < rows.length; i += 500)
          await tx
            .insertInto("amqp_outbox")
            .values(rows.slice(i, i + 500))
            .execute();
      });
      this.kick();
    } catch (err) {
      this.logger.error({ err, events: rows.length, first: rows[0]?.name }, "could not record events for RabbitMQ");
    }
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.timer.unref();
    this.kick();
  }

  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.logger.debug({ err }, "RabbitMQ relay paused; retrying at the next poll"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom("amqp_outbox")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("published_at", "is", null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writes;
    await this.running;
  }

  /**
   * Publishes pending rows oldest first, keeping up to `inFlight` batches (default 2) of `batch`
   * rows (default 1,000) waiting for their confirms at once: with one batch at a time the relay sat
   * idle for a broker round trip per batch, and batches of 200 reached ~80 % of what batches of
   * 1,000 did (bench/RESULTS.md, "GraphQL and AMQP"). Rows of a batch in flight are skipped by the next select; a batch's confirmed rows
   * are marked as soon as its confirms arrive. The first failure stops new batches, lets the
   * others settle (marking what was confirmed) and is thrown so the relay retries at the next poll.
   */
  private async drain(): Promise<void> {
    const batch = this.options.batch ?? 1000;
    const depth = Math.max(1, this.options.inFlight ?? 2);
    const inFlight = new Set<string>();
    const tasks = new Set<Promise<void>>();
    let failure: unknown;
    for (;;) {
      while (tasks.size >= depth) await Promise.race(tasks);
      if (failure !== undefined) break;
      const rows = (
        await this.db
          .selectFrom("amqp_outbox")
          .selectAll()
          .where("published_at", "is", null)
          .orderBy("created_at")
          .orderBy("id")
          .limit(batch + inFlight.size)
          .execute()
      )
        .filter((r) => !inFlight.has(r.id))
        .slice(0, batch);
      if (rows.length === 0) {
        if (tasks.size === 0) break;
        await Promise.race(tasks);
        continue;
      }
      for (const r of rows) inFlight.add(r.id);
      const task: Promise<void> = this.publishBatch(rows)
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => {
          for (const r of rows) inFlight.delete(r.id);
          tasks.delete(task);
        });
      tasks.add(task);
    }
    await Promise.all(tasks);
    if (failure !== undefined) throw failure;
  }

  private async publishBatch(rows: AmqpTables["amqp_outbox"][]): Promise<void> {
    const { confirmed, failed } = await this.publisher.publish(
      rows.map((r) => ({
        id: r.id,
        routingKey: r.routing_key,
        type: r.name,
        timestamp: r.created_at,
        json: r.body_json,
      })),
    );
    if (confirmed.length > 0) {
      await this.db.updateTable("amqp_outbox").set({ published_at: Date.now() }).where("id", "in", confirmed).execute();
    }
    if (failed) throw failed;
  }
}
