/**
 * Runs conformance vectors against a broker over TCP, one fresh connection per test, in order
 * (some vectors rely on the state their predecessor left, e.g. REGRESSION part 1 / part 2).
 */
import { parsePayload } from "./notation.js";
import {
  connackCode,
  connectPacket,
  DISCONNECT,
  PINGREQ,
  PINGRESP,
  type ProtocolLevel,
  publishPacket,
  pubrelPacket,
  subscribePacket,
  unsubscribePacket,
} from "./packets.js";
import type { VectorMessage, VectorTest } from "./vectors.js";
import { Wire } from "./wire.js";

export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface RunOptions {
  /** How long to wait for an expected packet or an expected close. */
  readonly timeoutMs?: number;
}

export interface TestResult {
  readonly test: VectorTest;
  readonly pass: boolean;
  readonly reason?: string;
}

class Failure extends Error {}

function hex(b: Buffer): string {
  return b.toString("hex").replace(/(..)/g, "$1 ").trim().toUpperCase();
}

async function expectPacket(wire: Wire, cmd: number, what: string, timeoutMs: number): Promise<Buffer> {
  const p = await wire.readPacket(timeoutMs).catch((err: Error) => {
    throw new Failure(`${what}: ${err.message}`);
  });
  if (((p[0] as number) & 0xf0) !== cmd) throw new Failure(`${what}: got ${hex(p)}`);
  return p;
}

async function openConnected(target: Target, ver: ProtocolLevel, clientId: string, timeoutMs: number): Promise<Wire> {
  const wire = await Wire.open(target.host, target.port, timeoutMs);
  wire.write(connectPacket(ver, clientId));
  const connack = await expectPacket(wire, 0x20, "CONNACK", timeoutMs);
  const code = connackCode(connack);
  if (code !== 0) {
    wire.destroy();
    throw new Failure(`CONNACK return code ${code}`);
  }
  return wire;
}

let helperSeq = 0;

/** The README's "external_publish": a second connection publishes and completes the QoS handshake with packet id 1. */
async function externalPublish(target: Target, msg: VectorMessage, timeoutMs: number): Promise<void> {
  const qos = msg.qos ?? 0;
  const helper = await openConnected(target, 4, `conformance-helper-${process.pid}-${helperSeq++}`, timeoutMs);
  try {
    helper.write(publishPacket(4, msg.topic ?? "", Buffer.from(msg.payload ?? "", "utf8"), qos, msg.retain ?? false, 1));
    if (qos === 1) await expectPacket(helper, 0x40, "helper PUBACK", timeoutMs);
    if (qos === 2) {
      await expectPacket(helper, 0x50, "helper PUBREC", timeoutMs);
      helper.write(pubrelPacket(4, 1));
      await expectPacket(helper, 0x70, "helper PUBCOMP", timeoutMs);
    }
    helper.write(DISCONNECT);
  } finally {
    helper.destroy();
  }
}

async function step(wire: Wire, target: Target, test: VectorTest, msg: VectorMessage, timeoutMs: number): Promise<void> {
  switch (msg.type) {
    case "send":
      wire.write(parsePayload(msg.payload ?? ""));
      return;
    case "recv": {
      const want = parsePayload(msg.payload ?? "");
      const got = await wire.read(want.length, timeoutMs).catch((err: Error) => {
        throw new Failure(`expected ${hex(want)}: ${err.message}`);
      });
      if (!got.equals(want)) throw new Failure(`expected ${hex(want)}, got ${hex(got)}`);
      return;
    }
    case "external_publish":
      return externalPublish(target, msg, timeoutMs);
    case "subscribe":
      wire.write(subscribePacket(test.ver, msg.topic ?? "", msg.qos ?? 0, 1));
      await expectPacket(wire, 0x90, "SUBACK", timeoutMs);
      return;
    case "unsubscribe":
      wire.write(unsubscribePacket(test.ver, msg.topic ?? "", 1));
      await expectPacket(wire, 0xb0, "UNSUBACK", timeoutMs);
      return;
  }
}

export function clientIdFor(test: VectorTest): string {
  return `${test.file} ${test.group} ${test.name}`;
}

export async function runTest(target: Target, test: VectorTest, options: RunOptions = {}): Promise<TestResult> {
  const timeoutMs = options.timeoutMs ?? 1000;
  let wire: Wire | undefined;
  try {
    wire = test.connect
      ? await openConnected(target, test.ver, clientIdFor(test), timeoutMs)
      : await Wire.open(target.host, target.port, timeoutMs);
    for (const [i, msg] of test.msgs.entries()) {
      try {
        await step(wire, target, test, msg, timeoutMs);
      } catch (err) {
        throw new Failure(`msg ${i + 1} (${msg.type}): ${(err as Error).message}`);
      }
    }
    if (test.expectDisconnect) {
      if (!(await wire.closesWithin(timeoutMs))) throw new Failure("the broker did not close the connection");
    } else {
      wire.write(PINGREQ);
      const got = await wire.read(2, timeoutMs).catch((err: Error) => {
        throw new Failure(`expected to stay connected (PINGRESP): ${err.message}`);
      });
      if (!got.equals(PINGRESP)) throw new Failure(`expected PINGRESP, got ${hex(got)}`);
      wire.write(DISCONNECT);
    }
    return { test, pass: true };
  } catch (err) {
    return { test, pass: false, reason: (err as Error).message };
  } finally {
    wire?.destroy();
  }
}

export async function runVectors(target: Target, tests: readonly VectorTest[], options: RunOptions = {}): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const test of tests) results.push(await runTest(target, test, options));
  return results;
}
