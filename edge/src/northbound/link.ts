/**
 * The link supervisor: keeps one uplink session open. Reconnect, backoff and jitter live here,
 * once, for every uplink. A refused token needs a human: it is logged once and retried slowly,
 * at the maximum backoff, because the token may be fixed in the cloud without touching the edge.
 */
import { Backoff, isBvError, type Logger, sleep } from "@bitvelocity/common";
import type { ControlMessage, SessionFailure, Uplink, UplinkSession } from "./uplink.js";

export interface LinkOptions {
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly onConnectedChange?: (connected: boolean) => void;
  readonly onReconnect?: () => void;
}

/** Control messages kept while offline (command results), flushed after the next Welcome. */
const MAX_RETAINED = 1000;

export class Link {
  private current: UplinkSession | undefined;
  private readonly listeners = new Set<(session: UplinkSession) => void>();
  private readonly retained: ControlMessage[] = [];
  private readonly backoff: Backoff;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private alarmed = false;

  constructor(
    private readonly uplink: Uplink,
    private readonly options: LinkOptions,
  ) {
    this.backoff = new Backoff({ initialMs: options.backoffInitialMs, maxMs: options.backoffMaxMs, random: options.random });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.current?.close();
    await this.loop;
  }

  session(): UplinkSession | undefined {
    return this.current;
  }

  /** Called with each new welcomed session. */
  onSession(listener: (session: UplinkSession) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends now if connected; with `retain`, keeps the message for the next session otherwise. */
  post(message: ControlMessage, retain = false): boolean {
    if (this.current?.post(message)) return true;
    if (retain) {
      if (this.retained.length >= MAX_RETAINED) this.retained.shift();
      this.retained.push(message);
    }
    return false;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    let attempts = 0;
    while (!this.abort.signal.aborted) {
      if (attempts++ > 0) this.options.onReconnect?.();
      const opened = await this.uplink.open(this.abort.signal);
      if (this.abort.signal.aborted) {
        if (opened.status === "open") opened.session.close();
        break;
      }
      let failure: SessionFailure;
      if (opened.status === "open") {
        failure = await this.serve(opened.session);
        if (this.abort.signal.aborted) break;
        logger.info({ reason: failure.error?.message }, "uplink down");
      } else {
        failure = opened;
        logger.debug({ err: failure.error }, "uplink connection attempt failed");
      }
      await sleep(this.delayAfter(failure), this.abort.signal);
    }
  }

  private async serve(session: UplinkSession): Promise<SessionFailure> {
    this.backoff.reset();
    this.alarmed = false;
    this.current = session;
    this.options.onConnectedChange?.(true);
    this.options.logger.info({ uplink: this.uplink.kind }, "uplink connected");
    for (const listener of this.listeners) {
      try {
        listener(session);
      } catch (err) {
        this.options.logger.error({ err }, "session listener threw");
      }
    }
    while (this.retained.length > 0 && session.post(this.retained[0]!)) this.retained.shift();
    const failure = await session.ended;
    this.current = undefined;
    this.options.onConnectedChange?.(false);
    return failure;
  }

  private delayAfter(failure: SessionFailure): number {
    if (failure.status === "rejected") {
      if (!this.alarmed) {
        this.alarmed = true;
        const message = isBvError(failure.error, "UPLINK_UNAUTHENTICATED")
          ? "edge token refused by the cloud (check uplink.token / BV_EDGE_TOKEN and the edge's registration); retrying slowly"
          : "uplink refused; retrying slowly";
        this.options.logger.error({ err: failure.error }, message);
      }
      // Full backoff ceiling, jittered in its upper half so that many edges do not retry in step.
      const random = this.options.random ?? Math.random;
      return Math.round(this.options.backoffMaxMs * (0.5 + random() / 2));
    }
    return failure.retryInMs ?? this.backoff.next();
  }
}
