import { describe, expect, it } from "vitest";
import type { DeviceSummary } from "../platform/events.js";
import { FleetDigest } from "./fleet-digest.js";

function summary(id: string, over: Partial<DeviceSummary> = {}): DeviceSummary {
  return { id, edgeId: "edge-1", siteId: "site-1", type: "env", name: id, online: true, lastSeen: 1, latest: {}, ...over };
}
const ids = (list: DeviceSummary[]) => list.map((d) => d.id);

describe("FleetDigest", () => {
  it("hands out state changes first and all of them, then reading-only changes up to the budget, longest waiting first", () => {
    const digest = new FleetDigest();
    for (let i = 0; i < 6; i++) digest.offer(summary(`d${i}`), false);
    for (let i = 0; i < 6; i++) digest.offer(summary(`d${i}`, { lastSeen: 2 }), true);
    digest.offer(summary("d4", { online: false }), true);
    digest.offer(summary("new"), true);
    // d0 changes again: it keeps its place in the queue, with its newest summary.
    digest.offer(summary("d0", { lastSeen: 3 }), true);
    const first = digest.take(4);
    expect(ids(first)).toEqual(["d4", "new", "d0", "d1"]);
    expect(first[2]?.lastSeen).toBe(3);
    expect(ids(digest.take(4))).toEqual(["d2", "d3", "d5"]);
    expect(digest.pending).toBe(0);
  });

  it("gives every state change even beyond the budget, and a later reading of such a device stays with it", () => {
    const digest = new FleetDigest();
    for (let i = 0; i < 5; i++) digest.offer(summary(`d${i}`), false);
    for (let i = 0; i < 5; i++) digest.offer(summary(`d${i}`, { online: false }), true);
    digest.offer(summary("d2", { online: false, lastSeen: 9 }), true);
    const out = digest.take(2);
    expect(ids(out)).toEqual(["d0", "d1", "d2", "d3", "d4"]);
    expect(out[2]?.lastSeen).toBe(9);
  });

  it("keeps nothing queued while no fleet page watches, yet still knows each device's state", () => {
    const digest = new FleetDigest();
    digest.offer(summary("d0"), false);
    digest.offer(summary("d0", { lastSeen: 5 }), false);
    expect(digest.pending).toBe(0);
    digest.offer(summary("d0", { lastSeen: 6 }), true);
    digest.offer(summary("d1", { lastSeen: 6 }), true);
    digest.clear();
    expect(digest.take(10)).toEqual([]);
    digest.offer(summary("d0", { lastSeen: 7 }), true);
    expect(ids(digest.take(0))).toEqual([]);
    expect(ids(digest.take(1))).toEqual(["d0"]);
  });

  it("hands every snapshot the same summary object of a device, the newest one", () => {
    const digest = new FleetDigest();
    const first = summary("d0");
    expect(digest.shared(first)).toBe(first);
    expect(digest.shared(summary("d0"))).toBe(first);
    const newer = summary("d0", { lastSeen: 2 });
    digest.offer(newer, false);
    expect(digest.shared(summary("d0"))).toBe(newer);
  });
});
