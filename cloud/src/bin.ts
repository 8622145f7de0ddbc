#!/usr/bin/env -S node --max-semi-space-size=64
/** `bv-cloud --config FILE`: start the cloud, stop cleanly on SIGINT/SIGTERM. */
import { parseCli, runMain, waitForShutdown } from "@bitvelocity/common";
import { startCloud } from "./main.js";
import { loadCloudConfig } from "./platform/config.js";
import { rootLogger } from "./platform/logger.js";

const USAGE = `usage: bv-cloud [--config FILE]

Starts the BitVelocity cloud: EdgeSync gRPC ingest, telemetry store, REST API, live dashboard.

options:
  -c, --config FILE   YAML config (see config.example.yaml); defaults apply without one
  -h, --help          show this help

environment:
  BV_HTTP_PORT, BV_GRPC_PORT, BV_DATA_DIR, BV_ADMIN_PASSWORD, BV_LOG_LEVEL`;

runMain("bv-cloud", async () => {
  const cli = parseCli({ name: "bv-cloud", usage: USAGE, options: { config: { type: "string", short: "c" } } });
  const file = typeof cli.values.config === "string" ? cli.values.config : undefined;
  const config = loadCloudConfig(file);
  const logger = rootLogger();
  const cloud = await startCloud(config, { logger });
  const signal = await waitForShutdown();
  logger.info({ signal }, "shutting down");
  await cloud.stop();
  process.exit(0);
});
