/** The outbox's Prometheus metrics; gauges read the running counters on scrape. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { OutboxStats } from "./types.js";

export interface OutboxMetrics {
  readonly deadLetters: Counter<"reason">;
  readonly commits: Counter;
  readonly bytesWritten: Counter;
  readonly gaps: Counter<"lane" | "reason">;
  readonly evicted: Counter<"lane" | "reason">;
  readonly refused: Counter<"reason">;
  readonly recoveries: Counter;
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function outboxMetrics(registry: Registry, stats: () => OutboxStats): OutboxMetrics {
  const registers = [registry];
  gauge(registry, "bv_edge_outbox_readings", "Readings in the outbox waiting for the cloud's ack", () => stats().readings);
  gauge(registry, "bv_edge_outbox_bytes", "Approximate bytes of the readings waiting in the outbox", () => stats().bytes);
  gauge(registry, "bv_edge_outbox_disk_bytes", "Bytes the outbox database's live pages take on disk", () => stats().diskBytes);
  gauge(
    registry,
    "bv_edge_outbox_budget_bytes",
    "The outbox byte budget in force (lowered when the disk is short)",
    () => stats().budgetBytes,
  );
  gauge(
    registry,
    "bv_edge_outbox_oldest_age_seconds",
    "Age of the oldest reading waiting in the outbox (0 when empty)",
    () => stats().oldestAgeSeconds,
  );
  gauge(registry, "bv_edge_outbox_control_pending", "Control-lane messages waiting for the cloud's ack", () => stats().controlPending);
  gauge(
    registry,
    "bv_edge_outbox_alarms",
    "Active outbox health alarms (disk full, locked, corrupt file recovered, full)",
    () => stats().alarms.length,
  );
  return {
    deadLetters: new Counter({
      name: "bv_edge_dead_letters_total",
      help: "Messages written to the dead-letter table, by reason",
      labelNames: ["reason"],
      registers,
    }),
    commits: new Counter({ name: "bv_edge_outbox_commits_total", help: "Group commits (transactions) of the outbox", registers }),
    bytesWritten: new Counter({
      name: "bv_edge_bytes_written_total",
      help: "Bytes handed to SQLite by the outbox (SD-card wear)",
      registers,
    }),
    gaps: new Counter({
      name: "bv_edge_gaps_total",
      help: "Gap records written (readings evicted or lost, accounted for), by lane and reason",
      labelNames: ["lane", "reason"],
      registers,
    }),
    evicted: new Counter({
      name: "bv_edge_evicted_readings_total",
      help: "Readings that left the outbox without reaching the cloud (each is in a gap record), by lane and reason",
      labelNames: ["lane", "reason"],
      registers,
    }),
    refused: new Counter({
      name: "bv_edge_outbox_refused_total",
      help: "Appends refused (not acknowledged, so devices keep and retry them), by reason",
      labelNames: ["reason"],
      registers,
    }),
    recoveries: new Counter({
      name: "bv_edge_outbox_recoveries_total",
      help: "Corrupt outbox files moved aside and salvaged into a fresh one",
      registers,
    }),
  };
}
