import { Aedes } from "aedes";
import { afterEach, describe, expect, it } from "vitest";
import { type SubscriptionMatcher, unsubscribedCheck } from "./subscribers.js";

let broker: Aedes | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
  broker = undefined;
});

/** aedes' emitter (mqemitter): subscriptions are added and removed through it, as aedes does. */
interface Emitter {
  on(topic: string, fn: () => void, done: () => void): void;
  removeListener(topic: string, fn: () => void, done: () => void): void;
  _matcher: SubscriptionMatcher;
}

async function aedesEmitter(): Promise<Emitter> {
  broker = await Aedes.createBroker();
  return (broker as unknown as { mq: Emitter }).mq;
}

const on = (mq: Emitter, topic: string, fn: () => void) => new Promise<void>((resolve) => mq.on(topic, fn, resolve));
const off = (mq: Emitter, topic: string, fn: () => void) => new Promise<void>((resolve) => mq.removeListener(topic, fn, resolve));

describe("unsubscribedCheck", () => {
  it("remembers that nobody subscribes to a topic until a subscription is added or removed", async () => {
    const mq = await aedesEmitter();
    const matcher = mq._matcher;
    const unsubscribed = unsubscribedCheck(matcher);
    let matched = 0;
    const match = matcher.match.bind(matcher);
    matcher.match = (topic: string) => {
      matched++;
      return match(topic);
    };
    expect(unsubscribed("dev/env-1/telemetry")).toBe(true);
    expect(unsubscribed("dev/env-1/telemetry")).toBe(true);
    expect(matched).toBe(1); // the second answer came from memory

    const listener = () => {};
    await on(mq, "dev/+/telemetry", listener);
    expect(unsubscribed("dev/env-1/telemetry")).toBe(false);
    expect(unsubscribed("dev/env-1/telemetry")).toBe(false);

    await off(mq, "dev/+/telemetry", listener);
    expect(unsubscribed("dev/env-1/telemetry")).toBe(true);

    // A subscription elsewhere invalidates the memory too; the answer is asked again and stays right.
    const before = matched;
    await on(mq, "dev/env-2/#", listener);
    expect(unsubscribed("dev/env-1/telemetry")).toBe(true);
    expect(matched).toBe(before + 1);
    expect(unsubscribed("dev/env-2/telemetry")).toBe(false);
  });
});
