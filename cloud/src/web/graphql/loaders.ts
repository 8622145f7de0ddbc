/**
 * Batched loading per GraphQL operation. Devices come from the fleet read model (memory) grouped
 * once per operation; active alerts of any number of devices are one store query (DataLoader);
 * telemetry reads (history, readings) are budgeted per operation, so a list of devices cannot fan
 * out into thousands of store queries. An order list is one read-model query with its lines (they
 * are part of the order's row), and the timelines of all its orders one more (DataLoader). Every call to a store is counted in
 * bv_cloud_graphql_store_calls_total{source} (the fleet-query test reads it).
 */
import type { TimelineEntry } from "@bitvelocity/api";
import DataLoader from "dataloader";
import { createGraphQLError } from "graphql-yoga";
import { Counter } from "prom-client";
import type { AlertView, DeviceSummary } from "../../platform/events.js";
import type { GraphqlDeps } from "./deps.js";

/** Telemetry reads one operation may make (history + readings fields together). */
export const TELEMETRY_READS_PER_OPERATION = 50;
/** Active alerts loaded for a device list (the newest; the alerts query pages the rest). */
const ACTIVE_ALERTS_CAP = 10_000;

export interface Loaders {
  readonly activeAlerts: DataLoader<string, AlertView[]>;
  /** Orders' timelines: one read-model query for every order an operation lists. */
  readonly timelines: DataLoader<string, TimelineEntry[]>;
  devicesBy(key: "siteId" | "edgeId", id: string): DeviceSummary[];
  /** Counts one store query a resolver makes outside the loaders (commerce reads). */
  storeCall(source: string): void;
  /** Counts one telemetry read against the operation's budget; throws when it is spent. */
  telemetryRead(): void;
}

export type StoreCalls = Counter<"source">;

export function storeCallCounter(deps: Pick<GraphqlDeps, "registry">): StoreCalls {
  const existing = deps.registry.getSingleMetric("bv_cloud_graphql_store_calls_total");
  if (existing) return existing as StoreCalls;
  return new Counter({
    name: "bv_cloud_graphql_store_calls_total",
    help: "Store queries made by GraphQL resolvers, by source (alerts, telemetry, orders, timelines, …)",
    labelNames: ["source"],
    registers: [deps.registry],
  });
}

export function createLoaders(deps: GraphqlDeps, calls: StoreCalls): Loaders {
  let grouped: Map<string, DeviceSummary[]> | undefined;
  let telemetryReads = 0;
  return {
    activeAlerts: new DataLoader<string, AlertView[]>(async (subjects) => {
      calls.inc({ source: "alerts" });
      const active = await deps.alerts.alerts({ state: "active", limit: ACTIVE_ALERTS_CAP });
      const bySubject = new Map<string, AlertView[]>();
      for (const a of active) {
        if (a.subjectKind !== "device") continue;
        const list = bySubject.get(a.subjectId) ?? [];
        list.push(a);
        bySubject.set(a.subjectId, list);
      }
      return subjects.map((s) => bySubject.get(s) ?? []);
    }),
    timelines: new DataLoader<string, TimelineEntry[]>(async (ids) => {
      calls.inc({ source: "timelines" });
      return deps.commerce.projections.timelines(ids);
    }),
    devicesBy(key, id) {
      if (!grouped) {
        grouped = new Map();
        for (const d of deps.fleet.devices()) {
          for (const k of [`siteId:${d.siteId}`, `edgeId:${d.edgeId}`]) {
            const list = grouped.get(k) ?? [];
            list.push(d);
            grouped.set(k, list);
          }
        }
      }
      return grouped.get(`${key}:${id}`) ?? [];
    },
    storeCall(source) {
      calls.inc({ source });
    },
    telemetryRead() {
      telemetryReads += 1;
      if (telemetryReads > TELEMETRY_READS_PER_OPERATION) {
        throw createGraphQLError(
          `more than ${TELEMETRY_READS_PER_OPERATION} telemetry reads (history, readings) in one operation; ask for fewer devices`,
          { extensions: { code: "LIMIT_EXCEEDED" } },
        );
      }
      calls.inc({ source: "telemetry" });
    },
  };
}
