#!/usr/bin/env -S node --max-semi-space-size=8 --v8-pool-size=1
/** `bv-edge --config FILE` runs the edge agent; `bv-edge hash-secret` hashes a secret read from stdin. */
// First: V8's heap flags before the agent reads its configuration (ADR 012).
import "./runtime/start-compact.js";
import { BvError, ConfigError, hashSecret, parseCli, runMain, waitForShutdown } from "@bitvelocity/common";
import { type ConfigDocument, hasConfigPath } from "@bitvelocity/common/edge-config";
import { loadEdgeConfig } from "./config.js";
import { startEdge } from "./main.js";
import { credentialOverrides, DEFAULT_CREDENTIALS_FILE, readCredentials } from "./provisioning/credentials-file.js";
import { RESTART_EXIT_CODE } from "./remote-config/index.js";
import type { UpdateSettings } from "./update/index.js";

const usage = `Usage:
  bv-edge [--config FILE]     run the edge agent (config: YAML; BV_* environment variables override it)
  bv-edge hash-secret         read a device secret from stdin, print its hash for devices[].secret_hash
  bv-edge opcua browse URL    list an OPC UA server's variables (node id, path, data type), for connectors[].devices[].nodes
  bv-edge claim --cloud URL --code CODE [--pin sha256//… | --ca-file FILE] [--credentials FILE] [--owner USER]
                              exchange a claim code for this edge's identity and token; writes FILE (0600);
                              --pin trusts the cloud's HTTPS key as shown on the Add edge page (development CA)
  bv-edge --help

Environment: BV_EDGE_ID, BV_MQTT_PORT, BV_MQTT_WS_PORT, BV_EDGE_HTTP_PORT, BV_DATA_DIR, BV_CLOUD_URL,
BV_EDGE_TOKEN, BV_EDGE_CONFIG (config file when --config is not given), BV_LOG_LEVEL,
BV_EDGE_CREDENTIALS (the file \`bv-edge claim\` wrote: its edge id, site, cloud and token override the config;
--credentials FILE does the same).`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const cli = parseCli({
  name: "bv-edge",
  usage,
  options: {
    config: { type: "string", short: "c" },
    credentials: { type: "string" },
    cloud: { type: "string" },
    code: { type: "string" },
    owner: { type: "string" },
    pin: { type: "string" },
    "ca-file": { type: "string" },
  },
});
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
  const credentialsFile = (cli.values.credentials as string | undefined) ?? process.env.BV_EDGE_CREDENTIALS;
  if (command === "claim") {
    const cloud = cli.values.cloud as string | undefined;
    const code = cli.values.code as string | undefined;
    if (!cloud || !code) throw new ConfigError(["usage: bv-edge claim --cloud URL --code CODE [--credentials FILE]"]);
    const file = credentialsFile ?? DEFAULT_CREDENTIALS_FILE;
    try {
      const { claimEdge } = await import("./provisioning/claim.js");
      const pin = cli.values.pin as string | undefined;
      const caFile = cli.values["ca-file"] as string | undefined;
      const c = await claimEdge({
        cloud,
        code,
        file,
        owner: (cli.values.owner as string | undefined) ?? "bv-edge",
        ...(pin ? { pin } : {}),
        ...(caFile ? { caFile } : {}),
      });
      process.stdout.write(`claimed: edge ${c.edge_id} at site ${c.site_id}; credentials in ${file}\n`);
    } catch (err) {
      if (!(err instanceof BvError)) throw err;
      process.stderr.write(`bv-edge claim: ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    return;
  }
  if (command !== undefined) throw new ConfigError([`unknown command ${JSON.stringify(command)}\n\n${usage}`]);
  const file = (cli.values.config as string | undefined) ?? process.env.BV_EDGE_CONFIG;
  const overrides = credentialsFile ? credentialOverrides(credentialsFile) : {};
  const config = loadEdgeConfig(file, process.env, overrides);
  let edge: Awaited<ReturnType<typeof startEdge>> | undefined;
  const remoteConfig = {
    // A remote document wins where it speaks, over the environment and the credentials file too.
    load: (doc: ConfigDocument | undefined) =>
      loadEdgeConfig(
        file,
        process.env,
        doc ? Object.fromEntries(Object.entries(overrides).filter(([p]) => !hasConfigPath(doc, p))) : overrides,
        doc,
      ),
    // The supervisor (systemd Restart=, edge/deploy/README.md) starts the agent again: on the new configuration,
    // or, after an agent update switched releases, the other release.
    restart: () => {
      (edge?.stop() ?? Promise.resolve())
        .catch((err: unknown) => process.stderr.write(`bv-edge: stop before the restart failed: ${String(err)}\n`))
        .finally(() => process.exit(RESTART_EXIT_CODE));
    },
  };
  try {
    edge = await startEdge(config, { remoteConfig, ...(credentialsFile ? { updates: updateSettings(credentialsFile) } : {}) });
  } catch (err) {
    if (!(err instanceof BvError && err.kind === "fatal")) throw err;
    process.stderr.write(`bv-edge: ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  await waitForShutdown();
  await edge?.stop();
  process.exit(0);
});

/** Agent updates need a claimed edge (its release key and token) and the launcher's releases directory. */
function updateSettings(file: string): UpdateSettings {
  const c = readCredentials(file);
  return {
    releasesDir: process.env.BV_EDGE_RELEASES_DIR || undefined,
    publicKeyPem: c.release_public_key,
    cloudUrl: c.cloud_url,
    edgeId: c.edge_id,
    token: c.token,
    caFile: c.ca_file,
  };
}
