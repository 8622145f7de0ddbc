/**
 * The shipping carrier over SOAP: a `soap` client built from the contract (proto/carrier.wsdl,
 * read from disk, so starting needs no carrier) pointed at `commerce.carrier_url`, behind the same
 * cockatiel policy as the payment provider (platform/resilience.ts): retry(breaker(timeout(call))).
 * - timeout: every call is aborted after `timeoutMs` (the HTTP request's signal is aborted);
 * - retry with exponential backoff: CreateShipment is idempotent by order id at the carrier, so a
 *   transient failure (soap:Server fault, 5xx, timeout, refused connection) is retried;
 * - circuit breaker: after `breakerFailures` consecutive transient failures calls fail at once with
 *   CARRIER_UNAVAILABLE until `halfOpenAfterMs` passes; one trial call closes or re-opens it.
 * A soap:Client fault (bad request) is a definite answer: CARRIER_REFUSED, not retried, not counted.
 * It fills commerce's Shipping port by shape (it does not import commerce: the dependency rule).
 */
import { BvError } from "@bitvelocity/common";
import { CARRIER_WSDL_PATH } from "@bitvelocity/proto/carrier";
import { BrokenCircuitError, CircuitState, TaskCancelledError } from "cockatiel";
import { Counter, Gauge, type Registry } from "prom-client";
import { type Client, createClientAsync } from "soap";
import { providerPolicy } from "../../platform/resilience.js";
import { classify } from "./carrier-faults.js";

export interface CarrierOptions {
  /** The SOAP endpoint, e.g. http://127.0.0.1:8091/carrier. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly breakerFailures: number;
  readonly halfOpenAfterMs: number;
}

export interface CarrierShipment {
  readonly orderId: string;
  readonly shipTo: { readonly siteId: string; readonly name: string };
  readonly parcels: readonly { readonly reference: string; readonly quantity: number; readonly weightGrams: number }[];
}

/** The carrier could not be reached, failed (soap:Server fault, 5xx, timeout), or the breaker is open. */
export class CarrierUnavailable extends BvError {
  constructor(message: string, cause?: unknown) {
    super("CARRIER_UNAVAILABLE", "transient", message, { cause });
  }
}

/** The carrier refused the request for good (soap:Client fault: invalid request, conflict). */
export class CarrierRefused extends BvError {
  constructor(
    readonly faultCode: string,
    message: string,
  ) {
    super("CARRIER_REFUSED", "protocol", message);
  }
}

class TransientCarrierError extends Error {}

export class SoapCarrier {
  private readonly policy;
  private readonly breaker;
  private client: Promise<Client> | undefined;
  private readonly calls: Counter<"op" | "outcome">;

  constructor(
    private readonly options: CarrierOptions,
    registry: Registry,
  ) {
    const resilience = providerPolicy((err) => err instanceof TransientCarrierError, options);
    this.breaker = resilience.breaker;
    this.policy = resilience.policy;
    this.calls = new Counter({
      name: "bv_carrier_calls_total",
      help: "SOAP calls to the shipping carrier by operation and outcome (ok, refused, failed, breaker_open)",
      labelNames: ["op", "outcome"],
      registers: [registry],
    });
    const breaker = this.breaker;
    new Gauge({
      name: "bv_carrier_breaker_state",
      help: "The shipping carrier's circuit breaker: 0 closed, 1 open, 2 half-open, 3 isolated",
      registers: [registry],
      collect() {
        this.set(breaker.state);
      },
    });
  }

  /** "closed", "open", "half-open" or "isolated". */
  get state(): string {
    return CircuitState[this.breaker.state].replace(/^HalfOpen$/, "half-open").toLowerCase();
  }

  async createShipment(request: CarrierShipment): Promise<{ trackingNumber: string; service: string; label: string }> {
    const r = await this.call<{ trackingNumber: string; service: string; label: string }>("CreateShipment", {
      orderId: request.orderId,
      shipTo: request.shipTo,
      parcels: { parcel: request.parcels },
    });
    return { trackingNumber: r.trackingNumber, service: r.service, label: Buffer.from(r.label, "base64").toString("utf8") };
  }

  async quoteRate(
    request: Omit<CarrierShipment, "orderId">,
  ): Promise<{ amountMinor: number; currency: string; service: string; transitDays: number }> {
    return this.call("QuoteRate", { shipTo: request.shipTo, parcels: { parcel: request.parcels } });
  }

  private soapClient(): Promise<Client> {
    this.client ??= createClientAsync(CARRIER_WSDL_PATH, { endpoint: this.options.url }).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  private async call<T>(op: "CreateShipment" | "QuoteRate", args: Record<string, unknown>): Promise<T> {
    const client = await this.soapClient();
    try {
      const result = await this.policy.execute(async ({ signal }) => {
        try {
          const [body] = (await client[`${op}Async`](args, { signal })) as [T];
          return body;
        } catch (err) {
          if (signal.aborted) throw new TaskCancelledError();
          const failure = classify(err);
          if (failure.transient) throw new TransientCarrierError(failure.message, { cause: err });
          throw new CarrierRefused(failure.code, failure.message);
        }
      });
      this.calls.inc({ op, outcome: "ok" });
      return result;
    } catch (err) {
      if (err instanceof CarrierRefused) {
        this.calls.inc({ op, outcome: "refused" });
        throw err;
      }
      if (err instanceof BrokenCircuitError) {
        this.calls.inc({ op, outcome: "breaker_open" });
        throw new CarrierUnavailable("carrier unavailable: the carrier's circuit breaker is open", err);
      }
      this.calls.inc({ op, outcome: "failed" });
      const what = err instanceof TaskCancelledError ? `timed out after ${this.options.timeoutMs} ms` : (err as Error).message;
      throw new CarrierUnavailable(`carrier unavailable: ${what}`, err);
    }
  }
}
