/**
 * The ingest module: the EdgeSync gRPC server edges stream to, their credentials, what their links
 * record (gap records, dead letters), and on the Kafka path the telemetry publisher and the
 * store-writer group. It listens when it starts, so it comes last in main.ts's module list: every
 * other module is subscribed before the first edge connects.
 */
import { kafkaSettingsOf } from "../platform/kafka.js";
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { DeviceGate } from "./device-gate.js";
import { EdgeCredentials } from "./edge-credentials.js";
import { createIngestMetrics } from "./ingest-metrics.js";
import { IngestServer } from "./ingest-server.js";
import { KafkaTelemetryPublisher } from "./kafka-publisher.js";
import { KafkaStoreWriter } from "./kafka-store-writer.js";
import { LinkRecords } from "./link-records.js";
import { ingestMigrations } from "./migrations.js";
import type { DeviceOwnership, ReadingCommitter } from "./ports.js";

export interface IngestModule extends CloudModule {
  readonly server: IngestServer;
  readonly records: LinkRecords;
  readonly grpcPort: number;
}

export interface IngestPorts {
  /** Where readings are committed (the telemetry module's store, or Kafka on the scale path). */
  readonly store: () => ReadingCommitter;
  /** Which edge owns each device (the fleet's DeviceOwners). */
  readonly ownership: () => DeviceOwnership;
}

export function ingestModule(ports: IngestPorts): IngestModule {
  let parts: { server: IngestServer; records: LinkRecords; grpcPort: number } | undefined;
  const stops: (() => Promise<void>)[] = [];
  const get = () => started(parts, "ingest", "the EdgeSync server");
  return {
    name: "ingest",
    migrations: ingestMigrations,
    publishes: [
      "edgeConnected",
      "edgeDisconnected",
      "edgeStatusReceived",
      "devicePresenceChanged",
      "readingsCommitted",
      "commandResultReceived",
      "deadLetterReceived",
      "gapRecorded",
      "edgeConfigReported",
      "updateReported",
    ],
    consumes: ["commandRequested", "edgeConfigRequested", "releaseOffered"],
    async start(ctx: ModuleContext) {
      const { config, bus, registry, logger } = ctx;
      const telemetry = ports.store();
      const records = new LinkRecords(ctx.db);
      const credentials = new EdgeCredentials(
        ctx.db,
        config.edges.map((e) => ({ id: e.id, siteId: e.site_id, tokenHash: e.token_hash, certFingerprint: e.cert_fingerprint })),
      );
      await credentials.load();
      const metrics = createIngestMetrics(registry);
      const gate = new DeviceGate(
        ports.ownership(),
        config.ingest.undeclared_devices,
        ctx.audit,
        metrics,
        logger.child({ part: "devices" }),
      );
      if (config.ingest.undeclared_devices === "auto-register")
        logger.warn("ingest.undeclared_devices is auto-register: a device no edge declared is given to the first edge that reports it");
      const kafka = kafkaSettingsOf(config);
      let committer: ReadingCommitter = telemetry;
      if (config.ingest.via === "kafka" && kafka) {
        const publisher = new KafkaTelemetryPublisher(kafka, logger.child({ part: "kafka" }));
        await publisher.start();
        stops.push(() => publisher.stop());
        committer = publisher;
      }
      if (config.ingest.store_writer && kafka) {
        const writer = new KafkaStoreWriter({
          settings: kafka,
          store: telemetry,
          bus,
          // A revoked edge's messages are refused like an unknown edge's.
          edge: (id) => {
            const found = credentials.lookup(id);
            return found.status === "ok" ? found.edge : undefined;
          },
          records,
          gate,
          registry,
          logger: logger.child({ part: "store-writer" }),
        });
        await writer.start();
        stops.push(() => writer.stop());
      }
      const server = new IngestServer({
        bus,
        store: committer,
        records,
        credentials,
        limits: {
          credit: config.ingest.credit,
          maxBatchReadings: config.ingest.max_batch_readings,
          maxBatchBytes: config.ingest.max_batch_bytes,
        },
        keepaliveMs: config.ingest.keepalive_ms,
        metrics,
        gate,
        logger,
      });
      stops.push(() => server.stop());
      const grpcPort = await server.listen(config.grpc.host, config.grpc.port, ctx.tls.grpc);
      logger.info({ listener: "grpc", port: grpcPort }, "listening");
      parts = { server, records, grpcPort };
    },
    async stop() {
      parts = undefined;
      for (const stop of stops.splice(0).reverse()) await stop();
    },
    get server() {
      return get().server;
    },
    get records() {
      return get().records;
    },
    get grpcPort() {
      return get().grpcPort;
    },
  };
}
