/** Ingest's per-message facts, as counters (STYLE.md: not log lines). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface IngestMetrics {
  readonly stored: Counter;
  readonly duplicates: Counter;
  readonly rejected: Counter;
  readonly batches: Counter<"result">;
  readonly commitSeconds: Histogram;
  readonly groupBatches: Histogram;
  readonly edgesConnected: Gauge;
  readonly streams: Counter<"outcome">;
  readonly gaps: Counter;
  readonly deadLetters: Counter;
  readonly commandsSent: Counter;
  readonly deviceRefusals: Counter<"reason" | "via">;
  readonly devicesRegistered: Counter<"via">;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  return {
    stored: new Counter({ name: "bv_cloud_readings_stored_total", help: "Distinct readings committed to the telemetry store", registers }),
    duplicates: new Counter({
      name: "bv_cloud_readings_duplicate_total",
      help: "Readings received again and acked without storing",
      registers,
    }),
    rejected: new Counter({ name: "bv_cloud_readings_rejected_total", help: "Readings refused as invalid", registers }),
    batches: new Counter({
      name: "bv_cloud_batches_total",
      help: "Telemetry batches by result",
      labelNames: ["result"] as const,
      registers,
    }),
    commitSeconds: new Histogram({
      name: "bv_cloud_ingest_commit_seconds",
      help: "Time to validate and commit one group of batches (one transaction) to the telemetry store",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    groupBatches: new Histogram({
      name: "bv_cloud_ingest_group_batches",
      help: "Telemetry batches committed together in one transaction (group commit)",
      buckets: [1, 2, 4, 8, 16],
      registers,
    }),
    edgesConnected: new Gauge({ name: "bv_cloud_edges_connected", help: "Edges with a live EdgeSync stream", registers }),
    streams: new Counter({
      name: "bv_cloud_edge_streams_total",
      help: "EdgeSync streams by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    gaps: new Counter({ name: "bv_cloud_gap_records_total", help: "Gap records reported by edges", registers }),
    deadLetters: new Counter({ name: "bv_cloud_edge_dead_letters_total", help: "Dead letters reported by edges", registers }),
    commandsSent: new Counter({ name: "bv_cloud_commands_sent_total", help: "Commands written to edge streams", registers }),
    deviceRefusals: new Counter({
      name: "bv_cloud_device_refusals_total",
      help: "Devices an edge spoke for but may not: foreign (another edge owns it) or undeclared (policy reject)",
      labelNames: ["reason", "via"] as const,
      registers,
    }),
    devicesRegistered: new Counter({
      name: "bv_cloud_devices_registered_total",
      help: "Devices claimed by an edge (its Hello, or a reading under ingest.undeclared_devices auto-register)",
      labelNames: ["via"] as const,
      registers,
    }),
  };
}
