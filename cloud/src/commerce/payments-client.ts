/**
 * The payment provider, over HTTP, behind cockatiel's policies (a maintained resilience library,
 * not a hand-written breaker): retry(breaker(timeout(call))).
 * - timeout: every call is aborted after `timeoutMs` (aggressive: the request's signal is aborted);
 * - retry with exponential backoff: every provider call is idempotent by its key, so a transient
 *   failure (5xx, timeout, connection refused) is retried a few times;
 * - circuit breaker: after `breakerFailures` consecutive transient failures the circuit opens and
 *   calls fail at once with PaymentsUnavailable (no network wait) until `halfOpenAfterMs` passes;
 *   one trial call then closes it again, or re-opens it.
 * A definite answer (4xx: declined, unknown authorization) is not a provider failure: it neither
 * counts against the breaker nor is retried.
 */
import { BvError } from "@bitvelocity/common";
import { BrokenCircuitError, CircuitState, TaskCancelledError } from "cockatiel";
import { Counter, Gauge, type Registry } from "prom-client";
import { providerPolicy } from "../platform/resilience.js";
import { ProviderHttp, type ProviderResponse } from "./provider-http.js";

export interface PaymentsOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly breakerFailures: number;
  readonly halfOpenAfterMs: number;
}

/** The provider could not be reached or failed (5xx, timeout, refused), or the breaker is open. */
export class PaymentsUnavailable extends BvError {
  constructor(message: string, cause?: unknown) {
    super("PAYMENTS_UNAVAILABLE", "transient", message, { cause });
  }
}

/** The provider answered no, for good (declined, invalid state). */
export class PaymentRefused extends BvError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super("PAYMENT_REFUSED", "protocol", message);
  }
}

class TransientProviderError extends Error {}

const STATE_NAMES = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
} as const;
export type BreakerStateName = (typeof STATE_NAMES)[CircuitState];

export class PaymentsClient {
  private readonly policy;
  private readonly breaker;
  private stateSince = Date.now();
  readonly counts = { ok: 0, failed: 0, rejected: 0 };
  private readonly calls: Counter<"op" | "outcome">;
  private readonly listeners = new Set<(state: BreakerStateName) => void>();

  private readonly http: ProviderHttp;

  constructor(
    private readonly options: PaymentsOptions,
    registry: Registry,
  ) {
    this.http = new ProviderHttp(options.url);
    const resilience = providerPolicy((err) => err instanceof TransientProviderError, options);
    this.breaker = resilience.breaker;
    this.policy = resilience.policy;
    this.breaker.onStateChange((state) => {
      this.stateSince = Date.now();
      for (const l of this.listeners) l(STATE_NAMES[state]);
    });
    this.calls = new Counter({
      name: "bv_commerce_payment_calls_total",
      help: "Calls to the payment provider by operation and outcome (ok, refused, failed, breaker_open)",
      labelNames: ["op", "outcome"],
      registers: [registry],
    });
    const breaker = this.breaker;
    new Gauge({
      name: "bv_commerce_payments_breaker_state",
      help: "The payment provider's circuit breaker: 0 closed, 1 open, 2 half-open, 3 isolated",
      registers: [registry],
      collect() {
        this.set(breaker.state);
      },
    });
  }

  /** Closes the provider connections kept alive between calls. */
  close(): void {
    this.http.close();
  }

  get state(): BreakerStateName {
    return STATE_NAMES[this.breaker.state];
  }

  get since(): number {
    return this.stateSince;
  }

  onStateChange(listener: (state: BreakerStateName) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  authorize(key: string, orderId: string, amountMinor: number, currency: string): Promise<{ authorizationId: string }> {
    return this.call("authorize", { key, orderId, amountMinor, currency });
  }

  capture(key: string, authorizationId: string): Promise<{ authorizationId: string }> {
    return this.call("capture", { key, authorizationId });
  }

  void(key: string, authorizationId: string): Promise<{ authorizationId: string }> {
    return this.call("void", { key, authorizationId });
  }

  refund(key: string, authorizationId: string): Promise<{ authorizationId: string }> {
    return this.call("refund", { key, authorizationId });
  }

  private async call<T>(op: string, body: Record<string, unknown>): Promise<T> {
    try {
      const result = await this.policy.execute(async ({ signal }) => {
        let res: ProviderResponse;
        try {
          res = await this.http.post(op, body, signal);
        } catch (err) {
          if (signal.aborted) throw new TaskCancelledError();
          throw new TransientProviderError(`payment provider unreachable: ${(err as Error).message}`, { cause: err });
        }
        const text = res.text;
        if (res.status >= 500) throw new TransientProviderError(`payment provider answered ${res.status}`);
        if (res.status >= 400) throw new PaymentRefused(res.status, `payment provider refused ${op}: ${res.status} ${text.slice(0, 200)}`);
        return JSON.parse(text) as T;
      });
      this.counts.ok++;
      this.calls.inc({ op, outcome: "ok" });
      return result;
    } catch (err) {
      if (err instanceof PaymentRefused) {
        this.counts.ok++;
        this.calls.inc({ op, outcome: "refused" });
        throw err;
      }
      if (err instanceof BrokenCircuitError) {
        this.counts.rejected++;
        this.calls.inc({ op, outcome: "breaker_open" });
        throw new PaymentsUnavailable("payments unavailable: the payment provider's circuit breaker is open", err);
      }
      this.counts.failed++;
      this.calls.inc({ op, outcome: "failed" });
      const what = err instanceof TaskCancelledError ? `timed out after ${this.options.timeoutMs} ms` : (err as Error).message;
      throw new PaymentsUnavailable(`payments unavailable: ${what}`, err);
    }
  }
}
