/**
 * A RabbitMQ publisher with publisher confirms: `publish` resolves only after the broker confirmed
 * every message (persistent, to a durable topic exchange). The connection is opened lazily and
 * re-opened with exponential back-off after the broker went away; a publish while disconnected
 * rejects (the outbox keeps the events and the relay tries again).
 */
import type { Logger } from "@bitvelocity/common";
import amqp, { type ChannelModel, type ConfirmChannel } from "amqplib";

export interface AmqpMessage {
  readonly id: string;
  readonly routingKey: string;
  readonly type: string;
  readonly timestamp: number;
  /** The message body, already JSON text (the outbox stores it so): published as it is. */
  readonly json: string;
}

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 10_000;

export class ConfirmPublisher {
  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private connecting: Promise<ConfirmChannel> | undefined;
  private nextAttemptAt = 0;
  private backoffMs = BACKOFF_MIN_MS;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly exchange: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.channel !== undefined;
  }

  /**
   * Publishes and waits for the broker's confirms; returns the ids RabbitMQ confirmed (all of them,
   * or those confirmed before the channel failed, in which case `failed` says why).
   */
  async publish(messages: readonly AmqpMessage[]): Promise<{ confirmed: string[]; failed?: Error }> {
    if (messages.length === 0) return { confirmed: [] };
    const channel = await this.open();
    const outcomes = messages.map(
      (m) =>
        new Promise<string>((resolve, reject) => {
          try {
            channel.publish(
              this.exchange,
              m.routingKey,
              Buffer.from(m.json),
              {
                persistent: true,
                messageId: m.id,
                type: m.type,
                timestamp: Math.floor(m.timestamp / 1000),
                contentType: "application/json",
                appId: "bv-cloud",
              },
              (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(m.id)),
            );
          } catch (err) {
            reject(err as Error);
          }
        }),
    );
    const settled = await Promise.allSettled(outcomes);
    const confirmed = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failure = settled.find((r) => r.status === "rejected");
    return failure ? { confirmed, failed: failure.reason as Error } : { confirmed };
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => undefined);
  }

  private open(): Promise<ConfirmChannel> {
    if (this.channel) return Promise.resolve(this.channel);
    if (this.closed) return Promise.reject(new Error("publisher closed"));
    if (Date.now() < this.nextAttemptAt) return Promise.reject(new Error("RabbitMQ unavailable; waiting before reconnecting"));
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<ConfirmChannel> {
    try {
      const connection = await amqp.connect(this.url, { timeout: 5000 });
      const channel = await connection.createConfirmChannel();
      await channel.assertExchange(this.exchange, "topic", { durable: true });
      const lost = (err?: unknown) => {
        if (this.connection !== connection) return;
        this.connection = undefined;
        this.channel = undefined;
        if (!this.closed) this.logger.warn({ err }, "RabbitMQ connection lost; reconnecting with back-off");
      };
      connection.on("close", lost);
      connection.on("error", lost);
      channel.on("close", () => {
        if (this.channel === channel) {
          this.channel = undefined;
          void connection.close().catch(() => undefined);
        }
      });
      channel.on("error", () => undefined);
      this.connection = connection;
      this.channel = channel;
      this.backoffMs = BACKOFF_MIN_MS;
      this.nextAttemptAt = 0;
      this.logger.info({ exchange: this.exchange }, "connected to RabbitMQ");
      return channel;
    } catch (err) {
      this.nextAttemptAt = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
      throw err;
    }
  }
}
