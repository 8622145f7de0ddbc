/** What a live client may subscribe to, and what the hub needs to know about ids. */
import type { DeviceSummary, EdgeSummary } from "../platform/events.js";

export type Topic =
  | { kind: "device"; id: string; key: string }
  | { kind: "edge"; id: string; key: string }
  | { kind: "site"; id: string; key: string }
  | { kind: "fleet"; key: "fleet" };

/** The fleet read model as the hub sees it (wired in main.ts; live imports no other domain). */
export interface LiveDirectory {
  device(id: string): DeviceSummary | undefined;
  edge(id: string): EdgeSummary | undefined;
  hasSite(id: string): boolean;
  devices(filter: { site?: string; edge?: string }): DeviceSummary[];
  edges(): EdgeSummary[];
}

/** Parses `{device}` | `{edge}` | `{site}` | `{fleet: true}`; returns an error message when invalid. */
export function parseTopic(arg: unknown): Topic | string {
  if (typeof arg !== "object" || arg === null || Array.isArray(arg)) return "expected {device}, {edge}, {site} or {fleet: true}";
  const a = arg as Record<string, unknown>;
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  if (keys.length !== 1) return "expected exactly one of device, edge, site, fleet";
  const kind = keys[0];
  if (kind === "fleet") return a.fleet === true ? { kind: "fleet", key: "fleet" } : "fleet must be true";
  if (kind !== "device" && kind !== "edge" && kind !== "site") return `unknown subscription ${JSON.stringify(kind)}`;
  const id = a[kind];
  if (typeof id !== "string" || id === "" || id.length > 128) return `${kind} must be a non-empty id`;
  return { kind, id, key: `${kind}:${id}` };
}
