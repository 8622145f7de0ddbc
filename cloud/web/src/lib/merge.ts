/** Applying live events to cached summaries. "Latest" is by timestamp, never by arrival order. */

import type { Device, LiveReading } from "@bitvelocity/api";
import { toMs } from "./format.js";

export function applyReading(d: Device, r: LiveReading): boolean {
  const ts = toMs(r.ts);
  let changed = false;
  d.latest ??= {};
  for (const [metric, value] of Object.entries(r.values ?? {})) {
    const cur = d.latest[metric];
    const curTs = cur ? toMs(cur.ts) : null;
    if (curTs !== null && ts !== null && ts < curTs) continue;
    d.latest[metric] = { value, ts: r.ts };
    changed = true;
  }
  if (changed) {
    const seen = toMs(d.lastSeen);
    if (ts !== null && (seen === null || ts > seen)) d.lastSeen = ts;
  }
  return changed;
}

/** A `device` event may carry a partial summary; keep what it does not mention. */
export function mergeDevice(prev: Device | undefined, next: Device): Device {
  if (!prev) return { ...next, latest: next.latest ?? {} };
  const latest = { ...prev.latest };
  for (const [k, v] of Object.entries(next.latest ?? {})) {
    const cur = latest[k];
    const a = cur ? toMs(cur.ts) : null;
    const b = toMs(v.ts);
    if (a === null || b === null || b >= a) latest[k] = v;
  }
  return { ...prev, ...next, latest };
}
