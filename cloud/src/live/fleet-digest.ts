/**
 * What fleet pages (`{fleet: true}`) get of the device summaries, once a tick. A fleet of 10,000
 * devices at 1 Hz changes 10,000 summaries a second, almost all of them only a new reading
 * (`lastSeen`, `latest`); sent as they happen, 100 fleet pages would be 1,000,000 summaries a
 * second to encode, write and parse. The digest keeps the newest summary of each changed device
 * and hands out, per tick:
 * - every *state* change (a new device, online ↔ offline, a new name, type, edge or site), all of
 *   them, first;
 * - then reading-only changes up to the tick's budget, the device that has waited longest first,
 *   so under the budget each page sees every device, and above it every device in turn.
 * The same summaries go to every fleet page, so their encoding is shared (shared-encoding.ts).
 */
import type { DeviceSummary } from "../platform/events.js";

export class FleetDigest {
  /** The newest summary offered per device: what a state change is judged against. */
  private readonly known = new Map<string, DeviceSummary>();
  private readonly urgent = new Map<string, DeviceSummary>();
  /** Insertion order is waiting order: `set` on a waiting device keeps its place. */
  private readonly waiting = new Map<string, DeviceSummary>();

  /**
   * The newest summary of a device as the bus gave it, else `d` (remembered from now on): the hub
   * hands every fleet page's snapshot the same objects, so each summary is encoded once.
   */
  shared(d: DeviceSummary): DeviceSummary {
    const known = this.known.get(d.id);
    if (known) return known;
    this.known.set(d.id, d);
    return d;
  }

  /** Records a device's newest summary; queues it for the next tick when a fleet page watches. */
  offer(d: DeviceSummary, watched: boolean): void {
    const before = this.known.get(d.id);
    this.known.set(d.id, d);
    if (!watched) return;
    if (this.urgent.has(d.id) || !before || stateChanged(before, d)) {
      this.waiting.delete(d.id);
      this.urgent.set(d.id, d);
    } else {
      this.waiting.set(d.id, d);
    }
  }

  get pending(): number {
    return this.urgent.size + this.waiting.size;
  }

  /** The summaries of this tick: all state changes, then up to `budget` in total with reading-only ones. */
  take(budget: number): DeviceSummary[] {
    const out = [...this.urgent.values()];
    this.urgent.clear();
    for (const [id, d] of this.waiting) {
      if (out.length >= budget) break;
      out.push(d);
      this.waiting.delete(id);
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
