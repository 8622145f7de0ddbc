// Starts the whole system — cloud, edge and a simulated fleet — as real processes, wired together
// with generated credentials. Used by the demo (`npm start`), the end-to-end tests and the benchmarks.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSecret, hashSecret } from "@bitvelocity/common";
import { edgeDevicesYaml, loadScenario, provisionFleet } from "@bitvelocity/firmware-sim";
import { parse, stringify } from "yaml";

export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const BINS = {
  cloud: join(ROOT, "cloud/dist/bin.js"),
  // What bv-edge runs (edge/bundle.mjs); BV_EDGE_BIN=edge/dist/bin.js runs tsc's output (readable profiles).
  edge: process.env.BV_EDGE_BIN ? resolve(ROOT, process.env.BV_EDGE_BIN) : join(ROOT, "edge/dist/bundle/bin.js"),
  sim: join(ROOT, "firmware-sim/dist/bin.js"),
};

/** Resolves when `port` can be bound on `host`, rejects with EADDRINUSE (or another error) when not. */
export function checkPortFree(port, host = "0.0.0.0") {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, host, () => server.close(() => resolvePort()));
  });
}

/**
 * Spawns one program. Its stdout is pino JSON; lines `{"msg":"listening","listener":…,"port":…}`
 * tell us its ports. `ready` resolves with { [listener]: port } once every expected listener is up.
 */
export function spawnService({ name, bin, args, env = {}, listeners = [], onLine, inheritOutput = false, nodeArgs = [] }) {
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ports = {};
  const tail = [];
  const remember = (line) => {
    tail.push(line);
    if (tail.length > 200) tail.shift();
  };
  let settle;
  const ready = new Promise((res, rej) => {
    settle = { res, rej };
  });
  const check = () => {
    if (listeners.every((l) => ports[l] !== undefined)) settle.res({ ...ports });
  };
  let buffered = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      remember(line);
      if (inheritOutput) process.stdout.write(`[${name}] ${line}\n`);
      let parsed;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (parsed?.msg === "listening" && typeof parsed.listener === "string" && typeof parsed.port === "number") {
        ports[parsed.listener] = parsed.port;
        check();
      }
      onLine?.(line, parsed);
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    for (const line of chunk.split("\n").filter(Boolean)) {
      remember(`stderr: ${line}`);
      if (inheritOutput) process.stderr.write(`[${name}] ${line}\n`);
    }
  });
  const exited = new Promise((res) => {
    child.once("exit", (code, signal) => {
      settle.rej(new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready:\n${tail.slice(-30).join("\n")}`));
      res({ code, signal });
    });
  });
  if (listeners.length === 0) settle.res({});
  return {
    name,
    child,
    ready,
    exited,
    logs: () => tail.join("\n"),
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * Writes configs for cloud, edge and simulator into `dir`, with fresh credentials.
 * Ports default to 0 (tests); the demo passes fixed ones.
 */
export function prepareSystem({
  dir,
  scenarioFile = join(ROOT, "firmware-sim/scenarios/demo.yaml"),
  scenarioOverrides = {},
  ports = {},
  secrets = {},
  extraUsers = [],
  cloudOverrides = {},
  edgeOverrides = {},
}) {
  mkdirSync(dir, { recursive: true });
  const s = {
    edgeToken: secrets.edgeToken ?? generateSecret(),
    adminPassword: secrets.adminPassword ?? generateSecret(12),
    fleetSecret: secrets.fleetSecret ?? generateSecret(),
  };
  const scenario = loadScenario(scenarioFile, {}, { fleet_secret: s.fleetSecret, ...scenarioOverrides });
  const devices = provisionFleet(scenario);
  const files = {
    cloud: join(dir, "cloud.yaml"),
    edge: join(dir, "edge.yaml"),
    devices: join(dir, "edge-devices.yaml"),
    scenario: join(dir, "scenario.yaml"),
    ackedLog: join(dir, "acked.jsonl"),
  };
  // EdgeSync is TLS with the cloud's development CA (made in its data_dir at first start; the edge
  // starts after the cloud). HTTP is plain for tests (explicit opt-out); the demo overrides http and serves HTTPS.
  const cloudDataDir = join(dir, "cloud-data");
  const edgeUplink = { url: "127.0.0.1:0", tls: { ca_file: join(cloudDataDir, "tls", "ca.pem") } };
  writeFileSync(
    files.cloud,
    stringify({
      version: 1,
      data_dir: cloudDataDir,
      http: { host: "127.0.0.1", port: ports.http ?? 0, insecure: true },
      grpc: { host: "127.0.0.1", port: ports.grpc ?? 0 },
      sites: [{ id: "site-1", name: "Demo plant" }],
      edges: [{ id: "edge-1", site_id: "site-1", name: "Line 1 gateway", token_hash: hashSecret(s.edgeToken) }],
      users: extraUsers.map((u) => ({ username: u.username, role: u.role, password_hash: hashSecret(u.password, "scrypt") })),
      admin: { username: "admin" },
      ...cloudOverrides,
    }),
  );
  writeFileSync(files.devices, edgeDevicesYaml(devices));
  writeFileSync(
    files.edge,
    stringify({
      version: 1,
      edge_id: "edge-1",
      site_id: "site-1",
      data_dir: join(dir, "edge-data"),
      mqtt: { host: "127.0.0.1", port: ports.mqtt ?? 0, ws_port: ports.mqttWs ?? 0 },
      http: { host: "127.0.0.1", port: ports.edgeHttp ?? 0 },
      devices_file: files.devices,
      ...edgeOverrides,
      uplink: { ...edgeUplink, ...edgeOverrides.uplink },
    }),
  );
  // The scenario as written (not its parsed form), with the overrides and this run's fleet secret.
  const written = parse(readFileSync(scenarioFile, "utf8"));
  writeFileSync(files.scenario, stringify({ ...written, ...scenarioOverrides, fleet_secret: s.fleetSecret }));
  return { dir, files, secrets: s, devices, scenario };
}

/**
 * V8 flags the cloud runs with (cloud/bin/bv-cloud.js, cloud/src/bin.ts, docker-compose.yml): a
 * young generation that may grow to 64 MB semi-spaces, so the readings of a group commit die young
 * instead of being copied by every scavenge (bench/RESULTS.md, "Backlog drain").
 */
export const CLOUD_NODE_ARGS = ["--max-semi-space-size=64"];

export function startCloud(prepared, { env = {}, inheritOutput = false, nodeArgs = CLOUD_NODE_ARGS } = {}) {
  return spawnService({
    name: "cloud",
    bin: BINS.cloud,
    nodeArgs,
    args: ["--config", prepared.files.cloud],
    env: { BV_ADMIN_PASSWORD: prepared.secrets.adminPassword, ...env },
    listeners: ["http", "grpc"],
    inheritOutput,
  });
}

/**
 * V8 flags the edge runs with, as on a Pi (edge/src/bin.ts shebang, docker-compose.yml): a 1 MB
 * young-generation semi-space instead of V8's 16 MB, and an old generation collected sooner, for a
 * smaller RSS under load (bench/RESULTS.md, "Edge memory").
 */
export const EDGE_NODE_ARGS = ["--max-semi-space-size=8", "--v8-pool-size=1"];

export function startEdge(prepared, grpcPort, { env = {}, inheritOutput = false, nodeArgs = EDGE_NODE_ARGS, bin = BINS.edge } = {}) {
  return spawnService({
    name: "edge",
    bin,
    nodeArgs,
    args: ["--config", prepared.files.edge],
    env: { BV_CLOUD_URL: `127.0.0.1:${grpcPort}`, BV_EDGE_TOKEN: prepared.secrets.edgeToken, ...env },
    listeners: ["mqtt", "http"],
    inheritOutput,
  });
}

export function startSim(prepared, mqttPort, { args = [], env = {}, inheritOutput = false } = {}) {
  return spawnService({
    name: "sim",
    bin: BINS.sim,
    args: [
      "--scenario",
      prepared.files.scenario,
      "--broker",
      `mqtt://127.0.0.1:${mqttPort}`,
      "--acked-log",
      prepared.files.ackedLog,
      ...args,
    ],
    env,
    inheritOutput,
  });
}
