// Edge cold start: time from spawning bv-edge (with the shipped V8 flags) to its MQTT broker
// answering a device's CONNECT with an accepting CONNACK, with N configured devices in its
// devices_file, and the CPU time the process used until then. One unmeasured start creates the
// outbox; the measured starts open it, as a restart on a Pi does. No cloud is running: the uplink
// retries in the background, as at a site whose network is not up yet.
// Knobs: BENCH_DEVICES (default 1000), BENCH_START_RUNS (default 5), BENCH_START_CPU_PROF=DIR
// (writes a V8 CPU profile of each measured start into DIR), BENCH_START_NODE_ARGS (node flags
// instead of the shipped ones, space-separated; "" for V8's defaults), BENCH_START_RUNNER (the command
// that runs Node instead of this Node, space-separated: e.g. "chroot /srv/arm64-root /usr/bin/node" for
// an arm64 root filesystem under qemu-user, with this repository and the temp dir bind-mounted at the
// same paths and its better-sqlite3 built for arm64), BENCH_START_BIN (the program, default the bundled
// agent edge/dist/bundle/bin.js; edge/dist/bin.js is tsc's unbundled output). It prints the figures as JSON; the
// section "Edge cold start (before/after)" of bench/RESULTS.md compares two commits, so it is written by hand.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect, createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { BINS, EDGE_NODE_ARGS, prepareSystem, ROOT } from "../scripts/system.mjs";
import { machine, median, procSample } from "./lib.mjs";

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const RUNS = Number(process.env.BENCH_START_RUNS ?? 5);
const PROFILE_DIR = process.env.BENCH_START_CPU_PROF;
const BIN = process.env.BENCH_START_BIN ?? BINS.edge;
const [RUNNER, ...RUNNER_ARGS] = (process.env.BENCH_START_RUNNER ?? process.execPath).split(" ").filter(Boolean);
const NODE_ARGS =
  process.env.BENCH_START_NODE_ARGS === undefined ? EDGE_NODE_ARGS : process.env.BENCH_START_NODE_ARGS.split(" ").filter(Boolean);

/** The device types of the demo fleet, N devices spread over them (each type's validator is used). */
const TYPES = ["env-sensor", "smart-shelf", "cold-chain-tracker", "valve-actuator", "power-meter", "packaging-plc"];
function fleets(n) {
  return TYPES.map((type, i) => ({
    type,
    count: Math.floor(n / TYPES.length) + (i < n % TYPES.length ? 1 : 0),
    id_prefix: `${type.split("-")[0]}-`,
    interval_ms: 1000,
  })).filter((f) => f.count > 0);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** An MQTT 3.1.1 CONNECT with clean session, client id = username = device id, and its password. */
function connectPacket(clientId, password) {
  const str = (s) => {
    const b = Buffer.from(s, "utf8");
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str("MQTT"), Buffer.from([4, 0b1100_0010, 0, 30]), str(clientId), str(clientId), str(password)]);
  const len = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...len]), body]);
}

/** Connects to the port until it accepts, sends CONNECT and resolves with the CONNACK's return code. */
function connack(port, packet, deadline) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (performance.now() > deadline) {
        reject(new Error("no CONNACK before the deadline"));
        return;
      }
      const socket = connect(port, "127.0.0.1");
      let got = Buffer.alloc(0);
      socket.once("connect", () => socket.write(packet));
      socket.on("data", (chunk) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 4) {
          socket.destroy();
          if (got[0] !== 0x20) reject(new Error(`expected a CONNACK, got packet type ${got[0] >> 4}`));
          else resolve(got[3]);
        }
      });
      socket.once("error", () => {
        socket.destroy();
        setTimeout(attempt, 2);
      });
    };
    attempt();
  });
}

async function startOnce(prepared, mqttPort, device, profile) {
  const args = [...NODE_ARGS];
  if (profile) args.push("--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`);
  const t0 = performance.now();
  const child = spawn(RUNNER, [...RUNNER_ARGS, ...args, BIN, "--config", prepared.files.edge], {
    cwd: ROOT,
    env: { ...process.env, BV_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Stopped once it has finished starting (its SIGTERM handler is installed then; a CPU profile is written).
  const started = new Promise((resolve) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      if (out.includes('"msg":"edge started"')) resolve();
    });
  });
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const rc = await Promise.race([
    connack(mqttPort, connectPacket(device.deviceId, device.secret), t0 + 60_000),
    exited.then((code) => Promise.reject(new Error(`edge exited (${code}) before accepting:\n${stderr}`))),
  ]);
  const ms = performance.now() - t0;
  const { cpuMs, rssMb } = procSample(child.pid);
  await Promise.race([started, exited]);
  child.kill("SIGTERM");
  await exited;
  if (rc !== 0) throw new Error(`CONNACK refused the device (return code ${rc})`);
  return { ms, cpuMs, rssMb };
}

/** Node itself: spawn → exit of an empty program with the same flags (the floor under any start). */
async function nodeFloor() {
  const t0 = performance.now();
  const child = spawn(RUNNER, [...RUNNER_ARGS, ...NODE_ARGS, "-e", "0"], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return performance.now() - t0;
}

const load = loadavg()[0].toFixed(2);
const mqttPort = await freePort();
const closedPort = await freePort(); // the uplink's cloud: nothing listens there
const dir = mkdtempSync(join(tmpdir(), "bv-start-"));
const prepared = prepareSystem({
  dir,
  scenarioOverrides: { fleets: fleets(DEVICES) },
  edgeOverrides: {
    mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: 0 },
    uplink: { url: `127.0.0.1:${closedPort}`, token: "bench-start-token", tls: { insecure: true } },
  },
});
const device = prepared.devices[prepared.devices.length - 1];
await startOnce(prepared, mqttPort, device, false); // creates the outbox; not counted
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await startOnce(prepared, mqttPort, device, Boolean(PROFILE_DIR)));
const floors = [];
for (let i = 0; i < RUNS; i++) floors.push(await nodeFloor());

const fmt = (ms) => (ms / 1000).toFixed(2);
const report = {
  date: new Date().toISOString(),
  machine: machine(),
  loadAverageAtStart: load,
  loadAverageAtEnd: loadavg()[0].toFixed(2),
  command: `BENCH_DEVICES=${DEVICES} BENCH_START_RUNS=${RUNS}${process.env.BENCH_START_NODE_ARGS === undefined ? "" : ` BENCH_START_NODE_ARGS="${NODE_ARGS.join(" ")}"`}${process.env.BENCH_START_RUNNER ? ` BENCH_START_RUNNER="${process.env.BENCH_START_RUNNER}"` : ""}${process.env.BENCH_START_BIN ? ` BENCH_START_BIN=${process.env.BENCH_START_BIN}` : ""} node bench/edge-start.mjs`,
  nodeArgs: NODE_ARGS.join(" "),
  devices: prepared.devices.length,
  startSeconds: runs.map((r) => fmt(r.ms)),
  medianStartSeconds: fmt(median(runs.map((r) => r.ms))),
  cpuSecondsUntilAccepting: runs.map((r) => fmt(r.cpuMs)),
  medianCpuSeconds: fmt(median(runs.map((r) => r.cpuMs))),
  rssMbWhenAccepting: median(runs.map((r) => r.rssMb)),
  nodeEmptyProgramSeconds: fmt(median(floors)),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
