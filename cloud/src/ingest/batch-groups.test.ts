import type { TelemetryBatch } from "@bitvelocity/proto";
import { describe, expect, it } from "vitest";
import { BatchGroups } from "./batch-groups.js";

const batch = (batchId: number, readings: number): TelemetryBatch =>
  ({ batchId, lane: 3, replay: false, readings: new Array(readings).fill({}) }) as TelemetryBatch;

describe("BatchGroups", () => {
  it("adds batches to the waiting group until it is full by batches or readings", () => {
    const groups = new BatchGroups({ batches: 3, readings: 100 });
    const first = groups.add(batch(1, 10));
    expect(first?.map((b) => b.batchId)).toEqual([1]);
    expect(groups.add(batch(2, 10))).toBeUndefined();
    expect(groups.add(batch(3, 10))).toBeUndefined();
    const second = groups.add(batch(4, 10));
    expect(first?.map((b) => b.batchId)).toEqual([1, 2, 3]);
    expect(second?.map((b) => b.batchId)).toEqual([4]);
    expect(groups.add(batch(5, 90))).toBeUndefined();
    expect(groups.add(batch(6, 1))?.map((b) => b.batchId)).toEqual([6]);
  });

  it("starts a new group once the waiting one is closed (its turn came, or another message was queued)", () => {
    const groups = new BatchGroups();
    const first = groups.add(batch(1, 10));
    groups.close(first);
    expect(groups.add(batch(2, 10))?.map((b) => b.batchId)).toEqual([2]);
    groups.close(first); // an old group closing leaves the waiting one open
    expect(groups.add(batch(3, 10))).toBeUndefined();
    groups.close();
    expect(groups.add(batch(4, 10))?.map((b) => b.batchId)).toEqual([4]);
  });
});
