/** Pure conversions between OPC UA values and catalog metric values (no node-opcua import). */
import type { MetricDef, MetricValue, MetricValues, OpcuaCommandWrite } from "@bitvelocity/devices";

/**
 * A variant's value as the metric's type, or undefined when it cannot be one. Enums accept the
 * state's name or its index (PLCs often expose states as Int32); Int64/UInt64 arrive as [high, low].
 */
export function toMetricValue(def: MetricDef, value: unknown): MetricValue | undefined {
  let v = value;
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) v = (v[0] as number) * 2 ** 32 + (v[1] as number);
  if (typeof v === "object" && v !== null && "text" in v) v = (v as { text: unknown }).text; // LocalizedText
  switch (def.type) {
    case "number":
    case "integer":
      if (typeof v === "number" && Number.isFinite(v)) return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      return undefined;
    case "boolean":
      if (typeof v === "boolean") return v;
      if (typeof v === "number") return v !== 0;
      return undefined;
    case "enum":
      if (typeof v === "string") return v;
      if (typeof v === "number" && Number.isInteger(v)) return def.values?.[v];
      return undefined;
  }
}

/** The node writes that carry out a command (catalog `opcua.commands`), or why not. */
export function commandWrites(
  writes: readonly OpcuaCommandWrite[],
  name: string,
  params: Record<string, MetricValue>,
): { writes: { nodeId: string; value: MetricValue }[] } | { problem: string } {
  const mine = writes.filter((w) => w.command === name);
  if (mine.length === 0) return { problem: `command ${name} has no OPC UA write mapping` };
  const out: { nodeId: string; value: MetricValue }[] = [];
  for (const w of mine) {
    const value = w.param !== undefined ? params[w.param] : w.value;
    if (value === undefined) return { problem: `parameter ${w.param} missing` };
    out.push({ nodeId: w.nodeId, value });
  }
  return { writes: out };
}

/**
 * Collects data changes per device and hands them on as one reading per publish cycle. A point
 * that changes twice before the flush flushes the earlier values first, so no change is merged away.
 */
export class ChangeBatcher {
  private readonly pending = new Map<string, { values: MetricValues; timeMs?: number }>();
  private scheduled = false;

  constructor(private readonly flush: (deviceId: string, values: MetricValues, deviceTimeMs?: number) => void) {}

  add(deviceId: string, metric: string, value: MetricValue, sourceTimeMs?: number): void {
    let entry = this.pending.get(deviceId);
    if (entry && metric in entry.values) {
      this.emit(deviceId, entry);
      entry = undefined;
    }
    if (!entry) {
      entry = { values: {} };
      this.pending.set(deviceId, entry);
    }
    entry.values[metric] = value;
    if (sourceTimeMs !== undefined) entry.timeMs = Math.max(entry.timeMs ?? 0, sourceTimeMs);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  drain(): void {
    this.scheduled = false;
    for (const [deviceId, entry] of this.pending) this.emit(deviceId, entry);
  }

  private emit(deviceId: string, entry: { values: MetricValues; timeMs?: number }): void {
    this.pending.delete(deviceId);
    this.flush(deviceId, entry.values, entry.timeMs);
  }
}
