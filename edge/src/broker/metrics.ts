/** The broker's Prometheus metrics: per-message facts are counters, never log lines. */
import { Counter, Gauge, type Registry } from "prom-client";

export interface BrokerMetrics {
  readonly authFailures: Counter<"reason">;
  readonly aclDenied: Counter<"action">;
  /** Counted in a plain number and added to the Prometheus counter when it is scraped (a hot path). */
  readonly readingsAccepted: { inc(): void };
  readonly commandResultsInvalid: Counter;
  readonly refused: Counter<"reason">;
  readonly throttled: Counter<"limit">;
  readonly queueDropped: Counter;
  readonly sessionsExpired: Counter;
}

export function brokerMetrics(registry: Registry, connectedClients: () => number): BrokerMetrics {
  const registers = [registry];
  new Gauge({
    name: "bv_edge_mqtt_clients_connected",
    help: "MQTT clients connected to the edge broker",
    registers,
    collect() {
      this.set(connectedClients());
    },
  });
  let accepted = 0;
  new Counter({
    name: "bv_edge_readings_accepted_total",
    help: "Telemetry readings committed to the outbox from MQTT devices",
    registers,
    collect() {
      this.inc(accepted);
      accepted = 0;
    },
  });
  return {
    authFailures: new Counter({
      name: "bv_edge_auth_failures_total",
      help: "Refused MQTT CONNECTs, by reason",
      labelNames: ["reason"],
      registers,
    }),
    aclDenied: new Counter({
      name: "bv_edge_acl_denied_total",
      help: "Publishes and subscriptions refused by the topic ACL, by action",
      labelNames: ["action"],
      registers,
    }),
    readingsAccepted: {
      inc: () => {
        accepted++;
      },
    },
    commandResultsInvalid: new Counter({
      name: "bv_edge_command_results_invalid_total",
      help: "Command results from devices that could not be decoded (ignored)",
      registers,
    }),
    refused: new Counter({
      name: "bv_edge_mqtt_refused_total",
      help: "Connections closed before or by the pre-parser (limits, malformed or non-conformant packets), by reason",
      labelNames: ["reason"],
      registers,
    }),
    throttled: new Counter({
      name: "bv_edge_mqtt_throttled_total",
      help: "Times a client's reading was paused by flow control, by limit (inflight, rate, uncommitted, commit_window)",
      labelNames: ["limit"],
      registers,
    }),
    queueDropped: new Counter({
      name: "bv_edge_mqtt_queue_dropped_total",
      help: "QoS 1/2 messages not queued for a client whose queue was full (mqtt.limits.max_queued_messages)",
      registers,
    }),
    sessionsExpired: new Counter({
      name: "bv_edge_mqtt_sessions_expired_total",
      help: "Persistent sessions removed after mqtt.limits.session_expiry_s offline",
      registers,
    }),
  };
}
