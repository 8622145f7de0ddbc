/** Catalog-aware helpers: units, normal ranges, which metrics can be charted. */

import type { DeviceType, MetricDef } from "@bitvelocity/api";
import { value as fmtValue } from "./format.js";

export type Health = "normal" | "low" | "high" | "unknown";

export function isNumeric(def: MetricDef): boolean {
  return def.type === "number" || def.type === "integer";
}

export function health(def: MetricDef | undefined, v: unknown): Health {
  if (!def?.normal || typeof v !== "number") return "unknown";
  if (v < def.normal.min) return "low";
  if (v > def.normal.max) return "high";
  return "normal";
}

export function isAbnormal(def: MetricDef | undefined, v: unknown): boolean {
  const hl = health(def, v);
  return hl === "low" || hl === "high";
}

export function withUnit(def: MetricDef | undefined, v: unknown): string {
  const text = fmtValue(v);
  if (!def?.unit || v === null || v === undefined || typeof v !== "number") return text;
  return def.unit === "°" || def.unit === "%" ? `${text}${def.unit}` : `${text} ${def.unit}`;
}

export function normalText(def: MetricDef): string | null {
  if (!def.normal) return null;
  const u = def.unit ? ` ${def.unit}` : "";
  return `normal ${fmtValue(def.normal.min)}–${fmtValue(def.normal.max)}${u}`;
}

/** The metrics of a type, or (for an unknown type) synthesised from the values seen. */
export function metricsOf(type: DeviceType | undefined, seen: Iterable<string>): MetricDef[] {
  if (type) return [...type.metrics];
  return [...seen].map((name) => ({ name, type: "number", unit: "", description: name }) as MetricDef);
}

const LABELS: Record<string, string> = { co2: "CO₂", lat: "Latitude", lon: "Longitude", interval_s: "Interval" };

export function label(name: string): string {
  const known = LABELS[name];
  if (known) return known;
  const s = name.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
