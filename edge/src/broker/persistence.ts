/**
 * aedes' in-memory persistence with two bounds it lacks: a per-client cap on the outgoing queue
 * (QoS 1/2 messages unacknowledged or waiting for an offline persistent session), and removal of
 * an expired session's subscriptions, queue, will and inbound QoS 2 state.
 */
// aedes-persistence is CommonJS (module.exports is the factory) whose typings declare an ES default
// export; the default import is module.exports in Node and in the bundle (edge/bundle.mjs) alike.
import aedesPersistence from "aedes-persistence";

const memory = aedesPersistence as unknown as () => unknown;

interface ClientRef {
  readonly id: string;
}
interface Sub {
  readonly clientId: string;
}
interface QueuedPacket {
  readonly messageId?: number;
}

/** The part of the aedes persistence interface used here (promise style, as aedes 1.x calls it). */
interface MemoryPersistence {
  outgoingEnqueue(sub: Sub, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: Sub[], packet: unknown): Promise<void>;
  outgoingClearMessageId(client: ClientRef, packet: QueuedPacket): Promise<QueuedPacket | undefined>;
  outgoingStream(client: ClientRef): AsyncIterable<QueuedPacket>;
  cleanSubscriptions(client: ClientRef): Promise<void>;
  cleanIncoming(client: ClientRef): Promise<void>;
  delWill(client: ClientRef): Promise<unknown>;
}

export interface BoundedPersistence {
  /** Pass to `Aedes.createBroker({ persistence })`. */
  readonly persistence: unknown;
  /** Drops everything the broker holds for a session that expired. */
  dropSession(clientId: string): Promise<void>;
  queued(clientId: string): number;
}

export function boundedPersistence(maxQueued: number, dropped: () => void): BoundedPersistence {
  const inner = memory() as unknown as MemoryPersistence;
  const counts = new Map<string, number>();

  const actualLength = async (id: string): Promise<number> => {
    let n = 0;
    for await (const _ of inner.outgoingStream({ id })) n++;
    counts.set(id, n);
    return n;
  };

  /** Admits subs whose client queue has room; the counter is re-synchronised at the cap, so it cannot drift into refusing. */
  const admit = async (subs: Sub[]): Promise<Sub[]> => {
    const out: Sub[] = [];
    for (const sub of subs) {
      let n = counts.get(sub.clientId) ?? 0;
      if (n >= maxQueued) n = await actualLength(sub.clientId);
      if (n >= maxQueued) {
        dropped();
        continue;
      }
      counts.set(sub.clientId, n + 1);
      out.push(sub);
    }
    return out;
  };

  const overrides: Partial<MemoryPersistence> = {
    async outgoingEnqueue(sub, packet) {
      const [ok] = await admit([sub]);
      if (ok) await inner.outgoingEnqueue(ok, packet);
    },
    async outgoingEnqueueCombi(subs, packet) {
      const ok = await admit(subs);
      if (ok.length > 0) await inner.outgoingEnqueueCombi(ok, packet);
    },
    async outgoingClearMessageId(client, packet) {
      const removed = await inner.outgoingClearMessageId(client, packet);
      if (removed) {
        const n = (counts.get(client.id) ?? 1) - 1;
        if (n > 0) counts.set(client.id, n);
        else counts.delete(client.id);
      }
      return removed;
    },
  };

  const persistence = new Proxy(inner as object, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof MemoryPersistence];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });

  return {
    persistence,
    queued: (id) => counts.get(id) ?? 0,
    async dropSession(id) {
      const client = { id };
      await inner.cleanSubscriptions(client);
      await inner.cleanIncoming(client);
      await inner.delWill(client);
      const queued: QueuedPacket[] = [];
      for await (const p of inner.outgoingStream(client)) queued.push(p);
      for (const p of queued) await inner.outgoingClearMessageId(client, p);
      counts.delete(id);
    },
  };
}
