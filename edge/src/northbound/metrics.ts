/** The link's Prometheus metrics, registered on the edge's registry. */
import { type CommandStatus, commandStatusToJSON } from "@bitvelocity/proto";
import { Counter, Gauge, type Registry } from "prom-client";

export interface LinkMetrics {
  readonly connected: Gauge;
  readonly batchesSent: Counter<"stream">;
  readonly readingsAcked: Counter;
  readonly readingsRejected: Counter;
  readonly reconnects: Counter;
  readonly commands: Counter<"status">;
}

export function linkMetrics(registry: Registry, drainRate: () => number): LinkMetrics {
  const registers = [registry];
  new Gauge({
    name: "bv_edge_drain_readings_per_second",
    help: "Readings removed from the outbox per second (acked or dead-lettered), recent window",
    registers,
    collect() {
      this.set(drainRate());
    },
  });
  return {
    connected: new Gauge({ name: "bv_edge_uplink_connected", help: "1 while the uplink session is welcomed, else 0", registers }),
    batchesSent: new Counter({
      name: "bv_edge_uplink_batches_sent_total",
      help: "Telemetry batches sent to the cloud, by stream (alarm, live, backlog = replay)",
      labelNames: ["stream"],
      registers,
    }),
    readingsAcked: new Counter({
      name: "bv_edge_uplink_readings_acked_total",
      help: "Readings the cloud acknowledged as committed",
      registers,
    }),
    readingsRejected: new Counter({
      name: "bv_edge_uplink_readings_rejected_total",
      help: "Readings the cloud refused as invalid (dead-lettered)",
      registers,
    }),
    reconnects: new Counter({ name: "bv_edge_uplink_reconnects_total", help: "Connection attempts after the first", registers }),
    commands: new Counter({
      name: "bv_edge_commands_total",
      help: "Command results reported to the cloud, by status",
      labelNames: ["status"],
      registers,
    }),
  };
}

/** `COMMAND_STATUS_SUCCEEDED` → `succeeded`. */
export function commandStatusLabel(status: CommandStatus): string {
  return commandStatusToJSON(status)
    .replace(/^COMMAND_STATUS_/, "")
    .toLowerCase();
}
