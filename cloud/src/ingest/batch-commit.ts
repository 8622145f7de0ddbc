/**
 * Validation and commit of one group of telemetry batches (batch-groups.ts) for one edge: each
 * reading is checked against the device catalog, the devices the edge may speak for and its
 * boot's clock anchor; poison readings are recorded as dead letters before anything is
 * committed; the valid readings of every batch are committed in one transaction when the store
 * offers it (else batch by batch, in order). The caller acknowledges the batches only after this
 * resolves; it throws, acknowledging nothing, when a record or the commit fails.
 */
import { isValidDeviceId } from "@bitvelocity/devices";
import type { RejectedReading, TelemetryBatch } from "@bitvelocity/proto";
import { cloudDeadLetter } from "./dead-letters.js";
import type { DeviceGate } from "./device-gate.js";
import type { LinkRecords, NewDeadLetter } from "./link-records.js";
import type { CommitOutcome, ReadingCommitter, ValidReading } from "./ports.js";
import { checkReading } from "./reading-validator.js";

export interface CommitHost {
  readonly store: ReadingCommitter;
  readonly records: Pick<LinkRecords, "bootAnchor">;
  readonly gate: Pick<DeviceGate, "check">;
}

/** A batch after its commit: what was committed, what was refused with its reason, and the store's outcome. */
export interface CommittedBatch {
  readonly batch: TelemetryBatch;
  readonly valid: ValidReading[];
  readonly rejected: RejectedReading[];
  readonly result: CommitOutcome;
}

export async function commitBatches(
  host: CommitHost,
  edgeId: string,
  batches: readonly TelemetryBatch[],
  recordDeadLetters: (letters: readonly NewDeadLetter[]) => Promise<void>,
): Promise<CommittedBatch[]> {
  const receivedAt = Date.now();
  const checked: Omit<CommittedBatch, "result">[] = [];
  const letters: NewDeadLetter[] = [];
  for (const batch of batches) {
    const anchors = await anchorsFor(host, edgeId, batch);
    const refusals = await refusalsFor(host, edgeId, batch);
    const valid: ValidReading[] = [];
    const rejected: RejectedReading[] = [];
    for (const r of batch.readings) {
      // A device of another edge (or undeclared, by policy): never stored, dead-lettered with the reason.
      const refusal = refusals.get(r.deviceId);
      const result =
        refusal === undefined
          ? checkReading(r, receivedAt, (bootId) => anchors.get(bootId))
          : { ok: false as const, seq: r.seq, reason: refusal };
      if (result.ok) valid.push(result.reading);
      else {
        rejected.push({ seq: result.seq, reason: result.reason });
        letters.push(cloudDeadLetter(r, result.reason, receivedAt));
      }
    }
    checked.push({ batch, valid, rejected });
  }
  // Poison readings are stored with their reason before the Ack tells the edge to drop them.
  if (letters.length > 0) await recordDeadLetters(letters);
  const { store } = host;
  let results: CommitOutcome[];
  if (store.commitBatches)
    results = await store.commitBatches(
      edgeId,
      checked.map((c) => c.valid),
    );
  else {
    results = [];
    for (const c of checked) results.push(await store.commitBatch(edgeId, c.valid, { replay: c.batch.replay }));
  }
  return checked.map((c, i) => ({ ...c, result: results[i]! }));
}

/** Why each device of the batch this edge may not report is refused (absent: allowed). */
async function refusalsFor(host: CommitHost, edgeId: string, batch: TelemetryBatch): Promise<Map<string, string | undefined>> {
  const refusals = new Map<string, string | undefined>();
  for (const r of batch.readings) {
    // An invalid id is refused by checkReading; it never reaches the ownership table.
    if (refusals.has(r.deviceId) || !isValidDeviceId(r.deviceId)) continue;
    refusals.set(r.deviceId, await host.gate.check(edgeId, r.deviceId, "reading"));
  }
  return refusals;
}

/** Anchors of the boots whose unsynchronised readings are in the batch. */
async function anchorsFor(host: CommitHost, edgeId: string, batch: TelemetryBatch): Promise<Map<string, number | undefined>> {
  const anchors = new Map<string, number | undefined>();
  for (const r of batch.readings) {
    if (!r.clockSynced && !anchors.has(r.bootId)) anchors.set(r.bootId, await host.records.bootAnchor(edgeId, r.bootId));
  }
  return anchors;
}
