import { describe, expect, it } from "vitest";
import { ClientBuffer } from "./client-buffer.js";

describe("ClientBuffer", () => {
  it("drops the oldest readings past the bound and reports how many", () => {
    const buf = new ClientBuffer(3);
    const dropped = [1, 2, 3, 4, 5].map((seq) => buf.pushReading({ deviceId: "d", seq, ts: seq, values: {} }));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(buf.drain().readings.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(buf.empty).toBe(true);
  });

  it("coalesces summaries by id, keeping the newest", () => {
    const buf = new ClientBuffer(10);
    const base = { edgeId: "e", siteId: "s", type: "env-sensor", name: "n", lastSeen: null, latest: {} };
    buf.pushDevice({ ...base, id: "a", online: false });
    buf.pushDevice({ ...base, id: "b", online: false });
    buf.pushDevice({ ...base, id: "a", online: true });
    const drained = buf.drain();
    expect(drained.devices.map((d) => [d.id, d.online])).toEqual([
      ["a", true],
      ["b", false],
    ]);
  });

  it("writes a snapshot before the summaries buffered with it, and drops the older ones it replaces", () => {
    const buf = new ClientBuffer(10);
    const base = { edgeId: "e", siteId: "s", type: "env-sensor", name: "n", lastSeen: null, latest: {} };
    buf.pushDevice({ ...base, id: "a", online: false });
    buf.pushDevice({ ...base, id: "z", online: false });
    const snapshot = [
      { ...base, id: "a", online: true },
      { ...base, id: "b", online: true },
    ];
    buf.pushSnapshot(snapshot);
    buf.pushDevice({ ...base, id: "b", online: false });
    const drained = buf.drain();
    // The snapshot list is the shared one, not a copy.
    expect(drained.snapshots).toEqual([snapshot]);
    expect(drained.snapshots[0]).toBe(snapshot);
    // "a" from before the snapshot is older than it; "b" after it is newer; "z" is not in it.
    expect(drained.devices.map((d) => [d.id, d.online])).toEqual([
      ["z", false],
      ["b", false],
    ]);
    buf.pushSnapshot([]);
    expect(buf.empty).toBe(true);
  });
});
