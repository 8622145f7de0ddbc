import { describe, expect, it } from "vitest";
import type { DeviceSummary } from "../platform/events.js";
import { FleetDigest } from "./fleet-digest.js";

function summary(id: string, over: Partial<DeviceSummary> = {}): DeviceSummary {
  return { id, edgeId: "edge-1", siteId: "site-1", type: "env", name: id, online: true, lastSeen: 1, latest: {}, ...over };
}
const ids = (list: DeviceSummary[]) => list.map((d) => d.id);

/** A digest over a registry: `now` is each device's summary as the registry has it. */
function digestOver(): { digest: FleetDigest; now: Map<string, DeviceSummary>; offer(d: DeviceSummary, watched: boolean): boolean } {
  const now = new Map<string, DeviceSummary>();
  const digest = new FleetDigest((id) => now.get(id));
  return {
    digest,
    now,
    offer(d, watched) {
      now.set(d.id, d);
      return digest.offer(d, watched);
    },
  };
}

describe("FleetDigest", () => {
  it("hands out state changes first and all of them, then reading-only changes up to the budget, longest waiting first", () => {
    const { digest, offer } = digestOver();
    for (let i = 0; i < 6; i++) offer(summary(`d${i}`), false);
    for (let i = 0; i < 6; i++) offer(summary(`d${i}`, { lastSeen: 2 }), true);
    offer(summary("d4", { online: false }), true);
    offer(summary("new"), true);
    // d0 changes again: it keeps its place in the queue, and goes out as it is when handed out.
    offer(summary("d0", { lastSeen: 3 }), true);
    const first = digest.take(4);
    expect(ids(first)).toEqual(["d4", "new", "d0", "d1"]);
    expect(first[2]?.lastSeen).toBe(3);
    expect(ids(digest.take(4))).toEqual(["d2", "d3", "d5"]);
    expect(digest.pending).toBe(0);
  });

  it("gives every state change even beyond the budget, and a later reading of such a device stays with it", () => {
    const { digest, offer } = digestOver();
    for (let i = 0; i < 5; i++) offer(summary(`d${i}`), false);
    for (let i = 0; i < 5; i++) offer(summary(`d${i}`, { online: false }), true);
    offer(summary("d2", { online: false, lastSeen: 9 }), true);
    const out = digest.take(2);
    expect(ids(out)).toEqual(["d0", "d1", "d2", "d3", "d4"]);
    expect(out[2]?.lastSeen).toBe(9);
  });

  it("says which offers changed a device's state, judged against its last state change, watched or not", () => {
    const { offer } = digestOver();
    expect(offer(summary("d0"), false)).toBe(true); // first seen
    expect(offer(summary("d0", { lastSeen: 2, latest: { t: { value: 1, ts: 2 } } }), false)).toBe(false);
    expect(offer(summary("d0", { lastSeen: 3 }), true)).toBe(false);
    expect(offer(summary("d0", { online: false, lastSeen: 3 }), false)).toBe(true);
    expect(offer(summary("d0", { online: false, lastSeen: 4 }), true)).toBe(false);
    expect(offer(summary("d0", { online: false, name: "Boiler" }), true)).toBe(true);
  });

  it("keeps nothing queued while no fleet page watches, and hands out a device that is gone from the registry no more", () => {
    const { digest, now, offer } = digestOver();
    offer(summary("d0"), false);
    offer(summary("d0", { lastSeen: 5 }), false);
    expect(digest.pending).toBe(0);
    offer(summary("d0", { lastSeen: 6 }), true);
    offer(summary("d1", { lastSeen: 6 }), true);
    digest.clear();
    expect(digest.take(10)).toEqual([]);
    offer(summary("d0", { lastSeen: 7 }), true);
    expect(ids(digest.take(0))).toEqual([]);
    now.delete("d0");
    expect(ids(digest.take(1))).toEqual([]);
    expect(digest.pending).toBe(0);
  });
});
