/**
 * Mutation fuzzing of the broker's input path, seeded with the conformance vectors' packets:
 * fast-check generates the mutations (bit flips, byte edits, truncation, splicing, remaining-
 * length damage), each session writes them down one TCP connection, with or without a valid
 * CONNECT first (so both the pre-authentication and the connected paths are hit).
 */
import { connect } from "node:net";
import fc from "fast-check";
import { parsePayload } from "./notation.js";
import { connectPacket } from "./packets.js";
import type { VectorTest } from "./vectors.js";

export interface FuzzSession {
  readonly connectFirst: boolean;
  readonly packets: ReadonlyArray<{ readonly seed: number; readonly other: number; readonly edits: ReadonlyArray<Edit> }>;
}

interface Edit {
  readonly kind: number;
  readonly at: number;
  readonly value: number;
}

/** Every `send` payload of the vectors (MQTT 3.1 / 3.1.1 / 5), the fuzzer's seed corpus. */
export function seedPool(tests: readonly VectorTest[]): Buffer[] {
  const out: Buffer[] = [];
  for (const t of tests) for (const m of t.msgs) if (m.type === "send" && m.payload) out.push(parsePayload(m.payload));
  return out;
}

export function sessionArbitrary(poolSize: number, maxPackets = 8): fc.Arbitrary<FuzzSession> {
  const edit = fc.record({ kind: fc.integer({ min: 0, max: 6 }), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
  const packet = fc.record({
    seed: fc.nat({ max: poolSize - 1 }),
    other: fc.nat({ max: poolSize - 1 }),
    edits: fc.array(edit, { minLength: 0, maxLength: 4 }),
  });
  return fc.record({ connectFirst: fc.boolean(), packets: fc.array(packet, { minLength: 1, maxLength: maxPackets }) });
}

export function mutate(pool: readonly Buffer[], p: FuzzSession["packets"][number]): Buffer {
  let b = Buffer.from(pool[p.seed] as Buffer);
  for (const e of p.edits) {
    const at = b.length === 0 ? 0 : e.at % b.length;
    switch (e.kind) {
      case 0:
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << (e.value & 7));
        break;
      case 1:
        if (b.length > 0) b[at] = e.value;
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([e.value]), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5:
        b = Buffer.concat([b, (pool[p.other] as Buffer).subarray(e.value % Math.max(1, (pool[p.other] as Buffer).length))]);
        break;
      default:
        // The remaining length: the field every parser trusts first.
        if (b.length > 1) b[1] = e.value;
    }
  }
  return b;
}

let fuzzSeq = 0;

/**
 * Writes one session's packets on a fresh connection and waits until the broker closes it or
 * idleMs pass. Resolves with the number of mutated packets written.
 */
export function runSession(target: { host: string; port: number }, pool: readonly Buffer[], s: FuzzSession, idleMs = 50): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(target);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(s.packets.length);
    };
    const timer = setTimeout(finish, idleMs + 1000);
    socket.on("error", finish);
    socket.on("close", finish);
    socket.on("data", () => undefined);
    socket.once("connect", () => {
      const parts = s.packets.map((p) => mutate(pool, p));
      if (s.connectFirst) parts.unshift(connectPacket(4, `fuzz-${process.pid}-${fuzzSeq++}`));
      socket.write(Buffer.concat(parts));
      clearTimeout(timer);
      setTimeout(finish, idleMs);
    });
  });
}
