/**
 * What fleet pages (`{fleet: true}`) get of the device summaries, once a tick. A fleet of 10,000
 * devices at 1 Hz changes 10,000 summaries a second, almost all of them only a new reading
 * (`lastSeen`, `latest`); sent as they happen, 100 fleet pages would be 1,000,000 summaries a
 * second to encode, write and parse. The digest keeps the newest summary of each changed device
 * and hands out, per tick:
 * - every *state* change (a new device, online ↔ offline, a new name, type, edge or site), all of
 *   them, first;
 * - then reading-only changes up to the tick's budget, the device that has waited longest first,
 *   so under the budget each page sees every device, and above it every device in turn. These
 *   are taken from the registry when they are handed out, not kept from when they happened.
 * The same summaries go to every fleet page, so their encoding is shared (shared-encoding.ts);
 * snapshots are the hub's (live-hub.ts).
 */
import type { DeviceSummary } from "../platform/events.js";

export class FleetDigest {
  /**
   * Per device, the summary of its last *state* change (or of its first sighting): what the next
   * change is judged against. A reading-only change does not replace it, so the 10,000 summaries a
   * second of a busy fleet are not kept here (kept, they lived a second each and made every young-
   * generation collection copy them: bench/RESULTS.md, "Live fan-out: reading-only summaries").
   */
  private readonly state = new Map<string, DeviceSummary>();
  private readonly urgent = new Map<string, DeviceSummary>();
  /** Devices whose readings changed since they were last handed out; insertion order is waiting order. */
  private readonly waiting = new Set<string>();
  /** `current`: a device's summary as it is now (the fleet registry), taken when it is handed out. */
  constructor(private readonly current: (id: string) => DeviceSummary | undefined) {}

  /**
   * Records a device's newest summary; queues it for the next tick when a fleet page watches.
   * Returns whether it changed the device's state (not only its readings).
   */
  offer(d: DeviceSummary, watched: boolean): boolean {
    const before = this.state.get(d.id);
    const changed = !before || stateChanged(before, d);
    if (changed) this.state.set(d.id, d);
    if (!watched) return changed;
    if (changed || this.urgent.has(d.id)) {
      this.waiting.delete(d.id);
      this.urgent.set(d.id, d);
    } else {
      this.waiting.add(d.id);
    }
    return changed;
  }

  get pending(): number {
    return this.urgent.size + this.waiting.size;
  }

  /** The summaries of this tick: all state changes, then up to `budget` in total with reading-only ones, as they are now. */
  take(budget: number): DeviceSummary[] {
    const out = [...this.urgent.values()];
    this.urgent.clear();
    for (const id of this.waiting) {
      if (out.length >= budget) break;
      this.waiting.delete(id);
      const d = this.current(id);
      if (d) out.push(d);
    }
    return out;
  }

  /** Nobody watches the fleet any more: forget what waits (a new page starts from a snapshot). */
  clear(): void {
    this.urgent.clear();
    this.waiting.clear();
  }
}

function stateChanged(a: DeviceSummary, b: DeviceSummary): boolean {
  return a.online !== b.online || a.name !== b.name || a.type !== b.type || a.edgeId !== b.edgeId || a.siteId !== b.siteId;
}
