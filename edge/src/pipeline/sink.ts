/** Where sources (the MQTT broker, connectors) hand readings: the outbox, or anything with its shape. */
import { isBvError } from "@bitvelocity/common";
import { BUSY_RETRY_MS } from "../outbox/commit-queue.js";
import type { DeadLetterInput, NewReading } from "../outbox/types.js";

export interface ReadingSink {
  /**
   * Resolves with the reading's seq once it is durably committed. Rejects with `OUTBOX_BUSY`
   * (and no other effect) when too many appends wait for a commit already.
   */
  append(reading: NewReading): Promise<number>;
  /** Resolves once the refused message is durably recorded. */
  deadLetter(input: DeadLetterInput): Promise<void>;
  /**
   * `append` without promises, for the broker's hot path (a promise and its reactions per reading
   * are measurable garbage there): `done(null, seq)` once committed, `done(err)` if refused for any
   * reason other than a full commit queue, which is waited out inside (`onBusy` told each time).
   * `awaited`: a device waits for this commit (a QoS 1 PUBACK); such appends start a commit sooner.
   */
  appendNow?(reading: NewReading, done: (err: Error | null, seq: number) => void, onBusy?: () => void, awaited?: boolean): void;
}

export { BUSY_RETRY_MS } from "../outbox/commit-queue.js";

/**
 * Runs a sink operation until the commit queue takes it: an `OUTBOX_BUSY` refusal is retried
 * after `BUSY_RETRY_MS` (the caller holds the item meanwhile, so its source waits rather than
 * losing it); any other failure goes to `failed`. Callbacks, not a promise: it is on the path of
 * every reading.
 */
export function whenQueued<T>(op: () => Promise<T>, ok: (value: T) => void, failed: (err: Error) => void, onBusy?: () => void): void {
  op().then(ok, (err: Error) => {
    if (!isBvError(err, "OUTBOX_BUSY")) return failed(err);
    onBusy?.();
    setTimeout(() => whenQueued(op, ok, failed, onBusy), BUSY_RETRY_MS);
  });
}
