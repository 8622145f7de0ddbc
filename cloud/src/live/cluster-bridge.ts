/**
 * Several cloud nodes behind one load balancer (DESIGN.md §5): socket.io's Redis adapter joins
 * their socket.io servers, and the bridge relays the domain events a node must see from its
 * peers with serverSideEmit: a browser on node A sees readings ingested (or stored by the
 * store-writer) on node B, and a command created on A reaches the edge whose stream is on B.
 *
 * Relayed events are delivered on the local bus with emitRemote, and are never relayed again.
 * Delivery between nodes is at most once (Redis pub/sub); the stores stay the source of truth.
 */
import type { Logger } from "@bitvelocity/common";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import type { EventBus } from "../platform/event-bus.js";
import type { CloudEvents } from "../platform/events.js";
import type { LiveServer } from "./live-types.js";

/** Source facts only: derived read models (deviceUpdated, edgeUpdated) are rebuilt by each node. */
export const RELAYED_EVENTS = [
  "readingsCommitted",
  "edgeConnected",
  "edgeDisconnected",
  "edgeStatusReceived",
  "devicePresenceChanged",
  "commandRequested",
  "commandResultReceived",
  "commandUpdated",
  "deadLetterReceived",
  "edgeConfigRequested",
  "edgeConfigReported",
] as const satisfies readonly (keyof CloudEvents)[];

const PREFIX = "bv:";

export interface ClusterOptions {
  readonly redisUrl: string;
  /** Key prefix of the adapter's channels; the nodes of one deployment share it. */
  readonly channel: string;
  readonly logger: Logger;
}

/** Attaches the Redis adapter and relays events; resolves to the function that detaches it. */
export async function joinCluster(io: LiveServer, bus: EventBus, options: ClusterOptions): Promise<() => Promise<void>> {
  const pub = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const sub = pub.duplicate();
  // ioredis reconnects by itself; errors while it does are reported, not thrown.
  for (const client of [pub, sub]) client.on("error", (err: Error) => options.logger.warn({ err }, "redis connection error"));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: options.channel }));
  const offs: (() => void)[] = [];
  for (const name of RELAYED_EVENTS) {
    offs.push(
      bus.on(name, (payload) => {
        if (!bus.isRemote(payload)) io.serverSideEmit(`${PREFIX}${name}`, payload);
      }),
    );
    const handler = (payload: CloudEvents[typeof name]) => bus.emitRemote(name, payload);
    io.on(`${PREFIX}${name}`, handler);
    offs.push(() => io.off(`${PREFIX}${name}`, handler));
  }
  return async () => {
    for (const off of offs.splice(0)) off();
    await Promise.allSettled([pub.quit(), sub.quit()]);
  };
}
