/**
 * Which edges a release's rollout selects: every edge of the chosen sites, plus a percentage of
 * all edges picked stably — an edge's bucket (0–99) is a hash of the release and the edge id, so
 * raising 10 % to 50 % keeps the first 10 % and adds others, and the choice does not depend on
 * the order edges connect in or on which cloud node decides. Pure functions, unit-tested.
 */
import { createHash } from "node:crypto";

export interface RolloutRule {
  readonly sites: readonly string[];
  readonly percent: number;
}

/** 0–99, the same for the same release and edge on every node and at every start. */
export function bucketOf(releaseKey: string, edgeId: string): number {
  const digest = createHash("sha256").update(releaseKey).update("\0").update(edgeId).digest();
  return digest.readUInt32BE(0) % 100;
}

export function selects(rule: RolloutRule, releaseKey: string, edge: { readonly id: string; readonly siteId: string }): boolean {
  if (rule.sites.includes(edge.siteId)) return true;
  return rule.percent > 0 && bucketOf(releaseKey, edge.id) < rule.percent;
}
