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
});
