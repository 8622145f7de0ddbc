/** Connector metrics, shared by every connector (labelled by connector id); per-request facts are counters. */
import { Counter, Gauge, type Registry } from "prom-client";

export interface ConnectorMetrics {
  /** Requests/notifications by outcome: ok, timeout, crc, exception, frame, disconnected, bad_status, not_committed. */
  readonly reads: Counter<"connector" | "result">;
  readonly writes: Counter<"connector" | "result">;
  readonly reconnects: Counter<"connector">;
  readonly connected: Gauge<"connector">;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function connectorMetrics(registry: Registry): ConnectorMetrics {
  const connectedName = "bv_edge_connector_connected";
  return {
    reads: counter(registry, "bv_edge_connector_reads_total", "Connector reads and data changes, by outcome", ["connector", "result"]),
    writes: counter(registry, "bv_edge_connector_writes_total", "Connector writes (commands), by outcome", ["connector", "result"]),
    reconnects: counter(registry, "bv_edge_connector_reconnects_total", "Connector (re)connections established", ["connector"]),
    connected:
      (registry.getSingleMetric(connectedName) as Gauge<"connector"> | undefined) ??
      new Gauge({ name: connectedName, help: "1 when the connector's link is up", labelNames: ["connector"], registers: [registry] }),
  };
}
