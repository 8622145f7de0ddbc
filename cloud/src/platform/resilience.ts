/**
 * The resilience policy for calls to an outside provider (payments, the shipping carrier), from
 * cockatiel: retry(breaker(timeout(call))). Only errors `isTransient` accepts, and timeouts, are
 * retried and counted by the breaker; a refusal (bad input) passes straight through.
 */
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";

export interface ProviderPolicyOptions {
  readonly timeoutMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  readonly breakerFailures: number;
  readonly halfOpenAfterMs: number;
}

export function providerPolicy(isTransient: (err: Error) => boolean, options: ProviderPolicyOptions) {
  const transient = handleWhen((err) => isTransient(err) || err instanceof TaskCancelledError);
  const breaker = circuitBreaker(transient, {
    halfOpenAfter: options.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.breakerFailures),
  });
  const retries = retry(transient, {
    maxAttempts: options.retries,
    backoff: new ExponentialBackoff({ initialDelay: 25, maxDelay: 400 }),
  });
  return { breaker, policy: wrap(retries, breaker, timeout(options.timeoutMs, TimeoutStrategy.Aggressive)) };
}
