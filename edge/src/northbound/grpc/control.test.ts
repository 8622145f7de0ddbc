// The gRPC uplink encodes the control lane's wire messages from what the outbox stores (a real
// outbox on a temp file), including rows an older agent stored already encoded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CommandResult, CommandStatus, EdgeMessage, Lane } from "@bitvelocity/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeControlBody } from "../../outbox/control-body.js";
import { Outbox } from "../../outbox/outbox.js";
import { toControlMessage } from "./control.js";

let dir: string;
let outbox: Outbox;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-control-"));
  outbox = Outbox.open({ dir, bootId: "b", budgetBytes: 256 * 1024, commitIntervalMs: 1 });
});

afterEach(() => {
  outbox.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the cloud decodes from the stream. */
function onTheWire(item: Parameters<typeof toControlMessage>[0]): EdgeMessage {
  return EdgeMessage.decode(EdgeMessage.encode(toControlMessage(item)).finish());
}

describe("control lane on the gRPC stream", () => {
  it("sends a dead letter with a 1 KiB preview of its payload and the control id", async () => {
    await outbox.deadLetter({ deviceId: "env-1", topic: "bv/env-1/telemetry", payload: Buffer.alloc(3000, 7), reason: "bad json" });
    const [item] = outbox.peekControl(10);
    expect(item?.kind).toBe("deadLetter");
    const msg = onTheWire(item as NonNullable<typeof item>);
    expect(msg.controlId).toBe(item?.id);
    expect(msg.kind?.$case).toBe("deadLetter");
    if (msg.kind?.$case !== "deadLetter") return;
    expect(msg.kind.deadLetter).toMatchObject({ deviceId: "env-1", topic: "bv/env-1/telemetry", reason: "bad json", seq: 0 });
    expect(msg.kind.deadLetter.payload).toEqual(Buffer.alloc(1024, 7));
  });

  it("sends the gap records the outbox writes when it evicts", async () => {
    // In commits of 50, as devices would send them, until the budget makes the outbox evict.
    for (let i = 0; i < 4000 && outbox.stats().gaps === 0; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          outbox.append({ deviceId: "env-1", deviceType: "env-sensor", values: { temperature: k, note: "x".repeat(100) } }),
        ),
      );
    }
    const gaps = outbox.peekControl(1000).filter((c) => c.kind === "gap");
    expect(gaps.length).toBeGreaterThan(0);
    for (const gap of gaps) {
      const msg = onTheWire(gap);
      expect(msg.controlId).toBe(gap.id);
      if (msg.kind?.$case !== "gap") throw new Error(`expected a gap, got ${msg.kind?.$case}`);
      expect(msg.kind.gap).toMatchObject({ lane: Lane.LANE_TELEMETRY, reason: "budget" });
      expect(msg.kind.gap.count).toBe(msg.kind.gap.lastSeq - msg.kind.gap.firstSeq + 1);
    }
  });

  it("sends a command result stored by the northbound", () => {
    const commandResult: CommandResult = {
      commandId: "c1",
      deviceId: "valve-1",
      status: CommandStatus.COMMAND_STATUS_SUCCEEDED,
      message: "done",
      resultJson: '{"open":true}',
      timeMs: 1_700_000_000_000,
    };
    const id = outbox.appendControl("commandResult", encodeControlBody(commandResult));
    const msg = onTheWire({ id, kind: "commandResult", body: outbox.peekControl(10).find((c) => c.id === id)?.body ?? new Uint8Array() });
    expect(msg).toEqual({ kind: { $case: "commandResult", commandResult }, controlId: id });
  });

  it("forwards a row an older agent stored as an encoded EdgeMessage unchanged", () => {
    const gap = { lane: Lane.LANE_ALARM, firstSeq: 5, lastSeq: 9, count: 5, fromTimeMs: 1, toTimeMs: 2, reason: "ttl" };
    const id = outbox.appendControl("gap", EdgeMessage.encode({ kind: { $case: "gap", gap } }).finish());
    const [item] = outbox.peekControl(10).filter((c) => c.id === id);
    expect(onTheWire(item as NonNullable<typeof item>)).toEqual({ kind: { $case: "gap", gap }, controlId: id });
  });
});
