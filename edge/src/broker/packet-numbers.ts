/**
 * mqtt-packet (the encoder aedes writes every packet with) by default builds, on its first write,
 * a cache of 65,536 two-byte Buffers, one per packet id / length: about 7 MB of the edge's heap
 * (65,536 Buffer objects), built on the path of the first CONNACK. Turned off, each 16-bit number
 * is one 2-byte `Buffer.allocUnsafe` from Node's pool when it is written (bench/RESULTS.md,
 * "Edge memory").
 */
import { createRequire } from "node:module";

interface PacketWriter {
  writeToStream: { cacheNumbers: boolean };
}

/** The mqtt-packet aedes itself loads (resolved from aedes' own location: the same module instance). */
export function aedesPacketModule(): PacketWriter {
  return createRequire(import.meta.resolve("aedes"))("mqtt-packet") as PacketWriter;
}

/** Makes the encoder write 16-bit numbers without its cache (before the first packet is written). */
export function uncachePacketNumbers(): void {
  aedesPacketModule().writeToStream.cacheNumbers = false;
}
