/**
 * Encodes each reading and summary once, however many clients it goes to. The hub hands the same
 * object to every subscribed client's buffer, so a WeakMap keyed by that object turns 100
 * watchers' JSON.stringify of the same 1,000 readings into one; each client's packet is then a
 * string concatenation. The packet is a plain socket.io EVENT packet, `2["name",[…]]`
 * (socket.io-protocol v5, main namespace), written the way socket.io's own adapter writes
 * broadcasts (`client._packet(…, {preEncoded: true})`), so clients see an ordinary event.
 * A batch whose array itself is shared (a snapshot every page that subscribed in the same tick
 * gets) is encoded into one packet string for all of them: building a 10,000-device packet per
 * page was most of what 100 fleet pages opening at once cost (bench/RESULTS.md, "Live fan-out:
 * shared snapshots").
 */
import type { LiveEmits, LiveSocket } from "./live-types.js";

const cache = new WeakMap<object, string>();
/** Whole packets of shared arrays (snapshots), by array. */
const packets = new WeakMap<object, string>();

export function encoded(item: object): string {
  let json = cache.get(item);
  if (json === undefined) {
    json = JSON.stringify(item);
    cache.set(item, json);
  }
  return json;
}

interface PreEncodingClient {
  _packet(packet: string, opts: { preEncoded: boolean }): void;
}

/** A batch event: its name and its one argument, an array. */
export type Batch =
  | { readonly name: "readings"; readonly items: Parameters<LiveEmits["readings"]>[0] }
  | { readonly name: "devices"; readonly items: Parameters<LiveEmits["devices"]>[0] };

/**
 * Emits a batch event with its array as the one argument, encoding each item at most once;
 * `shared`: the array goes to other sockets too, so its packet is kept for them.
 */
export function emitArray(socket: LiveSocket, batch: Batch, shared = false): void {
  const client = (socket as unknown as { client?: Partial<PreEncodingClient> }).client;
  if (socket.nsp.name !== "/" || typeof client?._packet !== "function") {
    if (batch.name === "readings") socket.emit("readings", batch.items);
    else socket.emit("devices", batch.items);
    return;
  }
  let packet = shared ? packets.get(batch.items) : undefined;
  if (packet === undefined) {
    let body = "";
    for (const item of batch.items) body += body === "" ? encoded(item) : `,${encoded(item)}`;
    packet = `2[${JSON.stringify(batch.name)},[${body}]]`;
    if (shared) packets.set(batch.items, packet);
  }
  client._packet(packet, { preEncoded: true });
}
