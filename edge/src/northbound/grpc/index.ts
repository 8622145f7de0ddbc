/**
 * The gRPC uplink plug-in: one EdgeSync bidi stream per session, on a fresh channel per session
 * so that the link supervisor's backoff is the only one (grpc-js would otherwise add its own
 * reconnect backoff of up to 120 s on a shared channel).
 */
import { BvError, type Logger } from "@bitvelocity/common";
import { EdgeSyncClient, type Hello } from "@bitvelocity/proto";
import type { ChannelOptions } from "@grpc/grpc-js";
import type { UplinkConfig } from "../schema.js";
import { configuredLimits, type OpenResult, type Uplink } from "../uplink.js";
import { GrpcSession } from "./session.js";
import { channelCredentials } from "./tls.js";

export interface GrpcUplinkOptions {
  readonly config: UplinkConfig;
  /** Built at each connect: wall time, uptime and the device snapshot are current. */
  readonly hello: () => Hello;
  readonly logger: Logger;
  readonly welcomeTimeoutMs?: number;
}

/** Largest message accepted from the cloud (commands, config updates; never telemetry). */
const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

export function channelOptions(config: UplinkConfig): ChannelOptions {
  return {
    // A half-open link is detected within keepalive_time + keepalive_timeout.
    "grpc.keepalive_time_ms": config.keepalive_ms,
    "grpc.keepalive_timeout_ms": config.keepalive_ms,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": MAX_RECEIVE_BYTES,
    "grpc.use_local_subchannel_pool": 1,
  };
}

export function grpcUplink(options: GrpcUplinkOptions): Uplink {
  const { config, logger } = options;
  const welcomeTimeoutMs = options.welcomeTimeoutMs ?? Math.max(5_000, 2 * config.keepalive_ms);
  return {
    kind: "grpc",
    open(signal: AbortSignal): Promise<OpenResult> {
      let hello: Hello;
      try {
        hello = options.hello();
      } catch (err) {
        const error = new BvError("UPLINK_HELLO_FAILED", "transient", "could not build the Hello", { cause: err });
        return Promise.resolve({ status: "retryable", error });
      }
      let client: EdgeSyncClient;
      try {
        client = new EdgeSyncClient(config.url, channelCredentials(config.tls), channelOptions(config));
      } catch (err) {
        const error = new BvError("UPLINK_BAD_URL", "human", `cannot use uplink.url ${JSON.stringify(config.url)}`, { cause: err });
        return Promise.resolve({ status: "rejected", error });
      }
      const session = new GrpcSession({
        client,
        hello,
        limits: configuredLimits(config),
        welcomeTimeoutMs,
        logger,
      });
      const onAbort = (): void => session.close();
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      void session.ended.then(() => signal.removeEventListener("abort", onAbort));
      return session.opened;
    },
  };
}
