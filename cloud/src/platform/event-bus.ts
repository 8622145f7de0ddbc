/**
 * The in-process, typed event bus between domains. Delivery is synchronous and in order of
 * subscription; a throwing (or rejecting) listener is logged and isolated: it never breaks the
 * emitter or the other listeners (STYLE.md: the host guards every plug-in boundary).
 */
import type { Logger } from "@bitvelocity/common";
import type { CloudEvents } from "./events.js";

export type Listener<T> = (payload: T) => void | Promise<void>;

export class EventBus<Events extends object = CloudEvents> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();
  /** Payloads that arrived from another cloud node (live/cluster-bridge.ts). */
  private readonly remote = new WeakSet<object>();

  constructor(private readonly logger?: Logger) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result = (listener as Listener<Events[K]>)(payload);
        if (result instanceof Promise) result.catch((err: unknown) => this.report(name, err));
      } catch (err) {
        this.report(name, err);
      }
    }
  }

  /** Delivers an event another cloud node emitted; listeners can tell it apart with isRemote. */
  emitRemote<K extends keyof Events>(name: K, payload: Events[K]): void {
    if (typeof payload === "object" && payload !== null) this.remote.add(payload);
    this.emit(name, payload);
  }

  /** True for a payload delivered by emitRemote: the node that emitted it already acted on it. */
  isRemote(payload: unknown): boolean {
    return typeof payload === "object" && payload !== null && this.remote.has(payload);
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }

  private report(name: keyof Events, err: unknown): void {
    this.logger?.error({ err, event: String(name) }, "event listener failed");
  }
}
