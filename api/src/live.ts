/**
 * The live namespace (socket.io, path /socket.io, main namespace): what a signed-in client may
 * subscribe to and the events the server pushes. Used as type parameters by the server
 * (cloud/src/live) and by the dashboard's client (cloud/web/src/lib/live.ts).
 */
import type { Alert } from "./alerts.js";
import type { Command } from "./commands.js";
import type { Value } from "./common.js";
import type { Device, Edge } from "./fleet.js";

/** One subscription: a device, an edge, a site, or the whole fleet. Exactly one key. */
export type Topic = { device: string } | { edge: string } | { site: string } | { fleet: true };

/** The server's answer to subscribe/unsubscribe (a refused topic says why). */
export type SubscribeReply = { ok: true } | { ok: false; error: string };

/** One element of a `readings` event: a committed reading, as fast as the throttle allows. */
export interface LiveReading {
  deviceId: string;
  seq: number;
  /** deviceTimeMs if the device stamped one, else edgeTimeMs. */
  ts: number;
  values: Record<string, Value>;
}

/** Events the server emits. Each carries one argument; arrays are batches of one flush. */
export interface ServerToClientEvents {
  readings: (readings: LiveReading[]) => void;
  /**
   * Device summaries changed since the last flush (and a snapshot right after subscribe: the
   * topic's devices, shared with pages subscribing within a second, so its readings may be up to a
   * second old). On a
   * `{fleet: true}` subscription ten times a second: all state changes, then at most 100 devices
   * (1,000 a second) whose only change is a new reading, longest waiting first. On `{edge}` and
   * `{site}` subscriptions only state changes (new device, online/offline, name, type, edge, site):
   * they get the readings themselves. On `{device}` every change.
   */
  devices: (devices: Device[]) => void;
  edge: (edge: Edge) => void;
  command: (command: Command) => void;
  /** Alerts go to every signed-in client, whatever it subscribed to. */
  alert: (alert: Alert) => void;
}

/** Events a client emits; the ack is optional. */
export interface ClientToServerEvents {
  subscribe: (topic: Topic, ack?: (reply: SubscribeReply) => void) => void;
  unsubscribe: (topic: Topic, ack?: (reply: SubscribeReply) => void) => void;
}
