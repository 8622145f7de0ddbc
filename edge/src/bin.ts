#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size
/** `bv-edge --config FILE` runs the edge agent; `bv-edge hash-secret` hashes a secret read from stdin. */
import { BvError, ConfigError, hashSecret, parseCli, runMain, waitForShutdown } from "@bitvelocity/common";
import { loadEdgeConfig } from "./config.js";
import { startEdge } from "./main.js";

const usage = `Usage:
  bv-edge [--config FILE]     run the edge agent (config: YAML; BV_* environment variables override it)
  bv-edge hash-secret         read a device secret from stdin, print its hash for devices[].secret_hash
  bv-edge opcua browse URL    list an OPC UA server's variables (node id, path, data type), for connectors[].devices[].nodes
  bv-edge --help

Environment: BV_EDGE_ID, BV_MQTT_PORT, BV_MQTT_WS_PORT, BV_EDGE_HTTP_PORT, BV_DATA_DIR, BV_CLOUD_URL,
BV_EDGE_TOKEN, BV_EDGE_CONFIG (config file when --config is not given), BV_LOG_LEVEL.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const cli = parseCli({ name: "bv-edge", usage, options: { config: { type: "string", short: "c" } } });
const command = cli.positionals[0];

runMain("bv-edge", async () => {
  if (command === "hash-secret") {
    const secret = (await readStdin()).replace(/\r?\n$/, "");
    if (secret.length === 0) throw new ConfigError(["stdin: no secret given (pipe it in: echo -n SECRET | bv-edge hash-secret)"]);
    process.stdout.write(`${hashSecret(secret)}\n`);
    return;
  }
  if (command === "opcua") {
    const [sub, endpoint] = cli.positionals.slice(1);
    if (sub !== "browse" || !endpoint) throw new ConfigError([`usage: bv-edge opcua browse opc.tcp://host:port[/path]`]);
    const { browseVariables } = await import("./southbound/opcua/browse.js");
    for (const v of await browseVariables(endpoint)) process.stdout.write(`${v.nodeId}\t${v.path}\t${v.dataType}\n`);
    return;
  }
  if (command !== undefined) throw new ConfigError([`unknown command ${JSON.stringify(command)}\n\n${usage}`]);
  const file = (cli.values.config as string | undefined) ?? process.env.BV_EDGE_CONFIG;
  const config = loadEdgeConfig(file);
  let edge: Awaited<ReturnType<typeof startEdge>>;
  try {
    edge = await startEdge(config);
  } catch (err) {
    if (!(err instanceof BvError && err.kind === "fatal")) throw err;
    process.stderr.write(`bv-edge: ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  await waitForShutdown();
  await edge.stop();
  process.exit(0);
});
