/**
 * The control lane on the EdgeSync stream: each stored control item becomes one EdgeMessage with
 * its `control_id`, which the cloud acknowledges (docs/edge-sync.md). The outbox stores the items
 * as JSON documents (outbox/control-body.ts); this uplink encodes its own wire messages from them.
 */
import { type CommandResult, EdgeMessage } from "@bitvelocity/proto";
import { decodeControlBody } from "../../outbox/control-body.js";
import type { ControlItem, DeadLetterNotice, GapRecordInput } from "../../outbox/types.js";
import { toProtoLane } from "./convert.js";

export function toControlMessage(item: ControlItem): EdgeMessage {
  return { ...controlKind(item), controlId: item.id };
}

function controlKind(item: ControlItem): EdgeMessage {
  const document = decodeControlBody(item.body);
  // Written by an agent before the uplinks encoded their own messages: already an EdgeMessage.
  if (document === undefined) return EdgeMessage.decode(item.body);
  // The documents were written by this agent's outbox and northbound, in the shapes named by kind.
  switch (item.kind) {
    case "gap":
      return { kind: { $case: "gap", gap: toProtoGap(document as GapRecordInput) } };
    case "deadLetter": {
      const notice = document as DeadLetterNotice;
      return {
        kind: {
          $case: "deadLetter",
          deadLetter: {
            deviceId: notice.deviceId,
            topic: notice.topic,
            payload: Buffer.from(notice.payloadPreview, "base64"),
            reason: notice.reason,
            timeMs: notice.timeMs,
            seq: 0,
            deviceType: "",
          },
        },
      };
    }
    case "commandResult":
      return { kind: { $case: "commandResult", commandResult: document as CommandResult } };
    default:
      throw new Error(`control item ${item.id} has an unknown kind ${JSON.stringify(item.kind)}`);
  }
}

function toProtoGap(gap: GapRecordInput) {
  return {
    lane: toProtoLane(gap.lane),
    firstSeq: gap.firstSeq,
    lastSeq: gap.lastSeq,
    count: gap.count,
    fromTimeMs: gap.fromTimeMs,
    toTimeMs: gap.toTimeMs,
    reason: gap.reason,
  };
}
