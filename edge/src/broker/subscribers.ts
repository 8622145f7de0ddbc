/**
 * "Does anyone subscribe to this topic?" for the direct route (guard/direct.ts), asked once per
 * telemetry PUBLISH. aedes keeps its subscriptions in its emitter's matcher (mqemitter's Qlobber),
 * whose `match` splits the topic and builds an array each time (2.4 % of the edge's CPU under the
 * QoS 0 flood, bench/RESULTS.md). The answer "nobody" is remembered per topic until the matcher
 * changes: every add, remove or clear of a subscription invalidates all answers at once.
 */

/** The part of aedes' matcher this uses. */
export interface SubscriptionMatcher {
  match(topic: string): unknown[];
  add(...args: unknown[]): unknown;
  remove(...args: unknown[]): unknown;
  clear(...args: unknown[]): unknown;
}

/**
 * Returns `unsubscribed(topic)`. Call it only for a bounded set of topics (the direct route asks
 * for configured devices' own telemetry topics only): each topic found unsubscribed is remembered.
 */
export function unsubscribedCheck(matcher: SubscriptionMatcher): (topic: string) => boolean {
  let generation = 0;
  for (const method of ["add", "remove", "clear"] as const) {
    const original = matcher[method];
    matcher[method] = function (this: unknown, ...args: unknown[]) {
      generation++;
      return original.apply(this, args);
    };
  }
  const nobodyAt = new Map<string, number>();
  return (topic) => {
    if (nobodyAt.get(topic) === generation) return true;
    if (matcher.match(topic).length > 0) return false;
    nobodyAt.set(topic, generation);
    return true;
  };
}
