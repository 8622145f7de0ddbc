import { describe, expect, it } from "vitest";
import { bucketOf, selects } from "./rollout.js";

describe("rollout selection", () => {
  const edges = Array.from({ length: 1000 }, (_, i) => ({ id: `edge-${i}`, siteId: `site-${i % 10}` }));

  it("picks about the asked share of edges, and a wider stage keeps the narrower one's edges", () => {
    const at = (percent: number) => new Set(edges.filter((e) => selects({ sites: [], percent }, "0.2.0/arm64", e)).map((e) => e.id));
    const ten = at(10);
    const fifty = at(50);
    expect(ten.size).toBeGreaterThan(60);
    expect(ten.size).toBeLessThan(140);
    expect(fifty.size).toBeGreaterThan(430);
    expect(fifty.size).toBeLessThan(570);
    for (const id of ten) expect(fifty.has(id)).toBe(true);
    expect(at(100).size).toBe(1000);
    expect(at(0).size).toBe(0);
  });

  it("selects every edge of a chosen site whatever the percentage", () => {
    const chosen = edges.filter((e) => selects({ sites: ["site-3"], percent: 0 }, "r", e));
    expect(chosen.length).toBe(100);
    expect(chosen.every((e) => e.siteId === "site-3")).toBe(true);
  });

  it("is stable: the same release and edge always land in the same bucket", () => {
    expect(bucketOf("r1", "edge-7")).toBe(bucketOf("r1", "edge-7"));
    expect(bucketOf("r1", "edge-7")).toBeGreaterThanOrEqual(0);
    expect(bucketOf("r1", "edge-7")).toBeLessThan(100);
  });
});
