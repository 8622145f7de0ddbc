/**
 * Encodes each reading and summary once, however many clients it goes to. The hub hands the same
 * object to every subscribed client's buffer, so a WeakMap keyed by that object turns 100
 * watchers' JSON.stringify of the same 1,000 readings into one; each client's packet is then a
 * string concatenation. The packet is a plain socket.io EVENT packet, `2["name",[…]]`
 * (socket.io-protocol v5, main namespace), written the way socket.io's own adapter writes
 * broadcasts (`client._packet(…, {preEncoded: true})`), so clients see an ordinary event.
 */
import type { Socket } from "socket.io";

const cache = new WeakMap<object, string>();

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

/** Emits `name` with an array of items as its one argument, encoding each item at most once. */
export function emitArray(socket: Socket, name: string, items: readonly object[]): void {
  const client = (socket as unknown as { client?: Partial<PreEncodingClient> }).client;
  if (socket.nsp.name !== "/" || typeof client?._packet !== "function") {
    socket.emit(name, items);
    return;
  }
  let body = "";
  for (const item of items) body += body === "" ? encoded(item) : `,${encoded(item)}`;
  client._packet(`2[${JSON.stringify(name)},[${body}]]`, { preEncoded: true });
}
