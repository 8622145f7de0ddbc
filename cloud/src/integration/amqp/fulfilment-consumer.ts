/**
 * The fulfilment queue's consumer: manual acks with a prefetch, one message handled at a time
 * (fulfilment-handler.ts decides), acknowledged only after its effect is committed. A poison
 * message (invalid, rejected by commerce, or failing `maxAttempts` times) is published to the
 * dead-letter exchange with its reason in the `x-bv-reason` header, and acknowledged only after
 * RabbitMQ confirmed that copy, so the queue moves on and nothing is lost. A message that fails is
 * published to the back of its queue again after a back-off, its attempt count in the
 * `x-bv-attempts` header (so the count survives a restart of this node and is the same on every
 * node), and acknowledged once RabbitMQ confirmed the copy. The connection is re-opened with back-off after the broker went
 * away; unacknowledged messages come back and the handler's idempotency absorbs them.
 */
import { Backoff, type Logger, sleep } from "@bitvelocity/common";
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { Counter, type Registry } from "prom-client";
import type { FulfilmentHandler } from "./fulfilment-handler.js";

export interface FulfilmentConsumerOptions {
  readonly url: string;
  readonly exchange: string;
  readonly queue: string;
  readonly deadLetterExchange: string;
  readonly prefetch: number;
  readonly maxAttempts: number;
  /** How often held (out-of-order) updates are checked for having waited long enough. */
  readonly sweepMs: number;
}

export class FulfilmentConsumer {
  private readonly stopping = new AbortController();
  private connection: ChannelModel | undefined;
  private loop: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly messages: Counter<"outcome">;
  private sweeper: NodeJS.Timeout | undefined;
  private connectedOnce: (() => void) | undefined;

  constructor(
    private readonly options: FulfilmentConsumerOptions,
    private readonly handler: FulfilmentHandler,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.messages = new Counter({
      name: "bv_integration_fulfilment_messages_total",
      help: "Fulfilment updates consumed from RabbitMQ by outcome (applied, stale, duplicate, parked, dead_lettered, retried)",
      labelNames: ["outcome"],
      registers: [registry],
    });
  }

  /** Starts consuming in the background (RabbitMQ down is not an error: it keeps trying). */
  start(): void {
    this.loop ??= this.run();
    this.sweeper = setInterval(() => {
      this.chain = this.chain.then(() =>
        this.handler.sweep().then(
          (n) => void (n > 0 && this.logger.debug({ released: n }, "held shipment updates applied after waiting")),
          (err: unknown) => this.logger.warn({ err }, "could not apply held shipment updates"),
        ),
      );
    }, this.options.sweepMs);
    this.sweeper.unref();
  }

  /** Resolves once connected (tests). */
  connected(): Promise<void> {
    if (this.connection) return Promise.resolve();
    return new Promise((resolve) => (this.connectedOnce = resolve));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.sweeper);
    await this.connection?.close().catch(() => undefined); // closed by the broker already: nothing to release
    await this.loop;
    await this.chain;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    while (!this.stopping.signal.aborted) {
      try {
        const { gone } = await this.connect();
        backoff.reset();
        this.logger.info({ queue: this.options.queue }, "consuming fulfilment updates");
        this.connectedOnce?.();
        const err = await gone;
        if (this.stopping.signal.aborted) return;
        this.logger.warn({ err }, "RabbitMQ connection lost (fulfilment); reconnecting with back-off");
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        this.logger.debug({ err }, "RabbitMQ unavailable (fulfilment); retrying");
      }
      this.connection = undefined;
      await sleep(backoff.next(), this.stopping.signal);
    }
  }

  private async connect(): Promise<{ gone: Promise<unknown> }> {
    const o = this.options;
    const connection = await amqp.connect(o.url, { timeout: 5000 });
    const gone = new Promise<unknown>((resolve) => {
      connection.on("close", resolve);
      connection.on("error", () => undefined); // "close" follows and ends this connection
    });
    try {
      const channel = await connection.createConfirmChannel();
      channel.on("error", () => undefined); // a channel error closes the connection below
      channel.on("close", () => void connection.close().catch(() => undefined));
      await channel.assertExchange(o.exchange, "topic", { durable: true });
      await channel.assertQueue(o.queue, { durable: true });
      await channel.bindQueue(o.queue, o.exchange, "fulfilment.#");
      await channel.assertExchange(o.deadLetterExchange, "fanout", { durable: true });
      await channel.assertQueue(o.deadLetterExchange, { durable: true });
      await channel.bindQueue(o.deadLetterExchange, o.deadLetterExchange, "");
      await channel.prefetch(o.prefetch);
      await channel.consume(
        o.queue,
        (m) => {
          if (m) this.chain = this.chain.then(() => this.onMessage(channel, m));
        },
        { noAck: false },
      );
      this.connection = connection;
    } catch (err) {
      await connection.close().catch(() => undefined); // the error above is what matters
      throw err;
    }
    return { gone };
  }

  private async onMessage(channel: ConfirmChannel, m: ConsumeMessage): Promise<void> {
    const id = typeof m.properties.messageId === "string" ? m.properties.messageId : undefined;
    try {
      const decision = await this.handler.handle(m.content, id);
      if (decision.action === "dead-letter") {
        await this.deadLetter(channel, m, decision.reason);
        this.messages.inc({ outcome: "dead_lettered" });
      } else {
        channel.ack(m);
        this.messages.inc({ outcome: decision.outcome });
      }
    } catch (err) {
      await this.failed(channel, m, id, err);
    }
  }

  /**
   * A processing failure: dead-letter after maxAttempts, else wait a back-off and publish the message
   * to the back of the queue with its attempt count (then acknowledge the original).
   */
  private async failed(channel: ConfirmChannel, m: ConsumeMessage, id: string | undefined, err: unknown): Promise<void> {
    const n = attemptsSoFar(m) + 1;
    try {
      if (n >= this.options.maxAttempts) {
        await this.deadLetter(channel, m, `failed ${n} attempts: ${(err as Error).message}`);
        this.messages.inc({ outcome: "dead_lettered" });
        return;
      }
      this.logger.debug({ err, messageId: id, attempt: n }, "fulfilment update failed; re-queued");
      await sleep(Math.min(5000, 100 * 2 ** n), this.stopping.signal);
      await this.requeue(channel, m, n, (err as Error).message);
      this.messages.inc({ outcome: "retried" });
    } catch (again) {
      // The channel is gone: the broker delivers the message again after the reconnect.
      this.logger.debug({ err: again }, "could not settle a fulfilment update; it will be delivered again");
    }
  }

  private requeue(channel: ConfirmChannel, m: ConsumeMessage, attempts: number, error: string): Promise<void> {
    return this.confirmedCopy(channel, "", this.options.queue, m, { "x-bv-attempts": attempts, "x-bv-last-error": error });
  }

  private deadLetter(channel: ConfirmChannel, m: ConsumeMessage, reason: string): Promise<void> {
    return this.confirmedCopy(channel, this.options.deadLetterExchange, m.fields.routingKey, m, {
      "x-bv-reason": reason,
      "x-bv-queue": this.options.queue,
      "x-bv-routing-key": m.fields.routingKey,
    });
  }

  /** Publishes a copy of `m` with extra headers and acknowledges `m` once RabbitMQ confirmed the copy. */
  private confirmedCopy(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    m: ConsumeMessage,
    headers: Record<string, unknown>,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      channel.publish(
        exchange,
        routingKey,
        m.content,
        {
          persistent: true,
          messageId: m.properties.messageId as string | undefined,
          contentType: m.properties.contentType as string | undefined,
          headers: { ...m.properties.headers, ...headers },
        },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    }).then(() => channel.ack(m));
  }
}

/** Attempts recorded on the message by earlier failures (the `x-bv-attempts` header; 0 if none or not a count). */
function attemptsSoFar(m: ConsumeMessage): number {
  const n = Number(m.properties.headers?.["x-bv-attempts"] ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}
