/**
 * The broker's abuse limits and its TLS listener, as configured under `mqtt.limits` and
 * `mqtt.tls` (snake_case YAML), with safe defaults sized for a Pi (DESIGN.md §1: < 100 MB).
 */
import { z } from "zod";

const positive = z.number().int().min(1);

export const brokerLimitsSchema = z
  .object({
    /** Whole packet, fixed header included; checked from the fixed header, before authentication. */
    max_packet_size: positive.max(268_435_460).default(65_536),
    /** Bytes of the CONNECT client id (device ids are at most 64 characters). */
    max_client_id_length: positive.max(65_535).default(64),
    /**
     * Levels of a topic name or filter (`a/b/c` has 3). Deeper topics close the connection with the
     * reason logged. At most 99: aedes' topic matcher (qlobber) cannot route 100 or more.
     */
    max_topic_levels: positive.max(99).default(32),
    /** Inbound QoS 1/2 messages awaiting our PUBACK/PUBCOMP per connection; beyond it reading pauses. */
    max_inflight: positive.max(65_535).default(100),
    /**
     * PUBLISHes of one connection (any QoS) whose reading is not committed yet; beyond it reading
     * from that connection pauses until commits land (TCP back-pressure, never a disconnect).
     */
    max_uncommitted: positive.max(65_535).default(100),
    /**
     * The same summed over all connections. Keep it below `outbox.max_pending` (5000 by default),
     * which leaves the rest of the commit queue to connectors and closing connections. It also
     * bounds the work of one event-loop turn: at the outbox's batch size (1000) a flood leaves room
     * for other connections' CONNECTs and pings; much larger windows starve them (bench/RESULTS.md).
     */
    max_uncommitted_total: positive.default(1000),
    /** Unacknowledged + queued QoS 1/2 messages held for one client (online or offline); beyond it new ones are dropped and counted. */
    max_queued_messages: positive.default(1000),
    /** A persistent session (clean session 0) offline this long is removed with its subscriptions and queue. */
    session_expiry_s: positive.default(86_400),
    max_connections: positive.default(2000),
    /** Time from TCP accept to a complete CONNECT. */
    connect_timeout_ms: positive.default(10_000),
    /** New connections per second per source address, with a burst. */
    connect_rate_per_s: positive.default(200),
    connect_burst: positive.default(2000),
    /** PUBLISHes per second per client id, with a burst; beyond it reading pauses. */
    message_rate_per_s: positive.default(100),
    message_burst: positive.default(1000),
  })
  .strict()
  .prefault({});

export type BrokerLimitsConfig = z.output<typeof brokerLimitsSchema>;

export const brokerTlsSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(8883),
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    /** CA bundle that client certificates must chain to. */
    ca_file: z.string().min(1).optional(),
    /** When true, a device must present a certificate from ca_file whose CN is its device id; it then needs no password. */
    require_client_cert: z.boolean().default(false),
  })
  .strict()
  .refine((t) => !t.require_client_cert || t.ca_file !== undefined, { message: "require_client_cert needs ca_file", path: ["ca_file"] });

export type BrokerTlsConfig = z.output<typeof brokerTlsSchema>;

export const defaultBrokerLimits: BrokerLimitsConfig = brokerLimitsSchema.parse(undefined);
