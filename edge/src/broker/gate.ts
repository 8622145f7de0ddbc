/**
 * Everything a connection passes before aedes sees it: the connection cap, the per-address
 * connection rate, and the validating pre-parser with its per-client flow control and the
 * broker-wide window of un-committed publishes; plus the
 * session bookkeeping behind "session present" and session expiry.
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@bitvelocity/common";
import { CommitWindow } from "./guard/commit-window.js";
import { GuardedStream } from "./guard/guarded-stream.js";
import { SessionRegistry } from "./guard/session-registry.js";
import { TokenBuckets } from "./guard/token-bucket.js";
import type { BrokerLimitsConfig } from "./limits.js";
import type { BrokerMetrics } from "./metrics.js";
import { boundedPersistence } from "./persistence.js";

export interface ConnectionGate {
  readonly persistence: unknown;
  /** The stream to hand to aedes, or undefined when the connection was refused (and closed). */
  admit(stream: Socket | Duplex, remote: string | undefined, identity?: string): GuardedStream | undefined;
  readonly sessions: SessionRegistry;
  /** Applies new connection and message limits to new connections and messages (hot). */
  retune(limits: HotBrokerLimits): void;
  stop(): void;
}

/** The broker limits that take effect without a restart (remote-config/plan.ts lists them too). */
export type HotBrokerLimits = Pick<
  BrokerLimitsConfig,
  "max_connections" | "connect_rate_per_s" | "connect_burst" | "message_rate_per_s" | "message_burst"
>;

/** Reasons become metric labels: keep them a small fixed set. */
function label(reason: string): string {
  return reason.replace(/\d+/g, "N").replaceAll(" ", "_").slice(0, 48);
}

export function connectionGate(
  limits: BrokerLimitsConfig,
  metrics: BrokerMetrics,
  logger: Logger,
  now: () => number = Date.now,
): ConnectionGate {
  const sessions = new SessionRegistry();
  const connectRate = new TokenBuckets(limits.connect_rate_per_s, limits.connect_burst, now);
  const messageRate = new TokenBuckets(limits.message_rate_per_s, limits.message_burst, now);
  const commitWindow = new CommitWindow(limits.max_uncommitted_total);
  const store = boundedPersistence(limits.max_queued_messages, () => metrics.queueDropped.inc());
  let active = 0;
  let maxConnections = limits.max_connections;

  const expiryMs = limits.session_expiry_s * 1000;
  const sweep = setInterval(
    () => {
      connectRate.sweep();
      messageRate.sweep();
      for (const id of sessions.expire(now(), expiryMs)) {
        metrics.sessionsExpired.inc();
        store.dropSession(id).catch((err: Error) => logger.warn({ err, clientId: id }, "could not drop an expired session"));
      }
    },
    Math.min(60_000, Math.max(1000, expiryMs / 4)),
  );
  sweep.unref();

  const refuse = (stream: Socket | Duplex, reason: string): undefined => {
    metrics.refused.inc({ reason });
    stream.destroy();
    return undefined;
  };

  return {
    persistence: store.persistence,
    sessions,
    retune(hot) {
      maxConnections = hot.max_connections;
      connectRate.retune(hot.connect_rate_per_s, hot.connect_burst);
      messageRate.retune(hot.message_rate_per_s, hot.message_burst);
    },
    admit(stream, remote, identity) {
      if (active >= maxConnections) return refuse(stream, "max_connections");
      if (!connectRate.take(remote ?? "unknown")) return refuse(stream, "connect_rate");
      active++;
      const guarded = new GuardedStream(stream, {
        maxPacketSize: limits.max_packet_size,
        maxClientIdLength: limits.max_client_id_length,
        maxTopicLevels: limits.max_topic_levels,
        maxInflight: limits.max_inflight,
        messageRate,
        maxUncommitted: limits.max_uncommitted,
        commitWindow,
        sessions,
        now,
        refused: (reason) => {
          metrics.refused.inc({ reason: label(reason) });
          logger.info({ remote, reason }, "connection closed by the pre-parser");
        },
        throttled: (limit) => metrics.throttled.inc({ limit }),
      });
      if (identity !== undefined) guarded.certIdentity = identity;
      guarded.once("close", () => active--);
      return guarded;
    },
    stop() {
      clearInterval(sweep);
    },
  };
}
