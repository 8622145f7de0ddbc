/** The outbox's Prometheus metrics; gauges read the running counters on scrape. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { OutboxStats } from "./types.js";

export interface OutboxMetrics {
  readonly deadLetters: Counter<"reason">;
  readonly commits: Counter;
  readonly bytesWritten: Counter;
}

export function outboxMetrics(registry: Registry, stats: () => OutboxStats): OutboxMetrics {
  const registers = [registry];
  new Gauge({
    name: "bv_edge_outbox_readings",
    help: "Readings in the outbox waiting for the cloud's ack",
    registers,
    collect() {
      this.set(stats().readings);
    },
  });
  new Gauge({
    name: "bv_edge_outbox_bytes",
    help: "Approximate bytes of the readings waiting in the outbox",
    registers,
    collect() {
      this.set(stats().bytes);
    },
  });
  new Gauge({
    name: "bv_edge_outbox_oldest_age_seconds",
    help: "Age of the oldest reading waiting in the outbox (0 when empty)",
    registers,
    collect() {
      this.set(stats().oldestAgeSeconds);
    },
  });
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
  };
}
