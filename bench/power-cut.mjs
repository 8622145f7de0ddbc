// Power loss: the durable-PUBACK promise across real power cuts. The edge agent (the amd64 bv-edge
// package, on Debian 13's Node) runs in a qemu VM whose disk is a raw ext4 image on this machine; a
// real cloud runs here; real MQTT devices publish QoS 1 into the VM through a slirp port forward
// and record every PUBACK. The qemu process is SIGKILLed at random moments under load (the
// guest's page cache and everything it had not flushed are gone), the VM rebooted each time. At
// the end every acknowledged reading must be in the cloud store exactly once.
//
//   npm run bench:power -- [--cycles 25] [--clients 16] [--window 4] [--seed N]
//                          [--synchronous full|normal] [--no-results]
// --synchronous normal is the control: the outbox without its per-commit fsync, which a power cut
// is expected to punish (kill -9 cannot tell the two apart). Writes the section "Power loss" of
// bench/RESULTS.md (or "Power loss: control, synchronous=normal"); --no-results only prints.
// Exit status 1 when an acknowledged reading is missing or stored twice (under synchronous=full).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { prepareSystem, ROOT, startCloud } from "../scripts/system.mjs";
import { machine, replaceSection, resultsFile } from "./lib.mjs";
import { QosOneLoad } from "./power/load.mjs";
import { bootVm, buildDisk, missingForVm, probeKvm } from "./power/vm.mjs";

const { values: opts } = parseArgs({
  options: {
    cycles: { type: "string", default: "25" },
    clients: { type: "string", default: "16" },
    window: { type: "string", default: "4" },
    seed: { type: "string" },
    synchronous: { type: "string", default: "full" },
    "mem-mb": { type: "string", default: "512" },
    "no-results": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const CYCLES = Number(opts.cycles);
const CLIENTS = Number(opts.clients);
const SEED = Number(opts.seed ?? Date.now() % 1_000_000);
const SYNCHRONOUS = opts.synchronous;
if (!["full", "normal"].includes(SYNCHRONOUS)) throw new Error("--synchronous must be full or normal");
const LOAD_AT_START = loadavg()
  .map((l) => l.toFixed(2))
  .join(" ");
const log = (msg) => console.log(`[power] ${msg}`);

const missing = missingForVm();
if (missing) {
  console.error(`power-cut bench cannot run here: missing ${missing}`);
  process.exit(2);
}
const kvm = probeKvm();
log(kvm.accel === "kvm" ? "KVM is usable: -accel kvm -cpu host" : `KVM is not usable (${kvm.reason}): TCG software emulation, much slower`);
const BOOT_TIMEOUT_MS = kvm.accel === "kvm" ? 90_000 : 600_000;

/** A deterministic PRNG for the cut moments (mulberry32), so a run can be replayed by its seed. */
function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(SEED);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((res) => {
          const s = createServer();
          s.listen(0, "127.0.0.1", () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitFor(what, fn, timeoutMs, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(everyMs);
  }
}

async function edgeMetric(port, name) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
    let total;
    for (const line of (await res.text()).split("\n")) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m && m[1] === name) total = (total ?? 0) + Number(m[3]);
    }
    return total;
  } catch {
    return undefined;
  }
}

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), "bv-power-"));
// Host side: a real cloud with one edge and CLIENTS env-sensor devices (secrets from the fleet secret).
const prepared = prepareSystem({
  dir,
  scenarioOverrides: { duration_s: 0, fleets: [{ type: "env-sensor", count: CLIENTS, id_prefix: "env-", interval_ms: 1000 }] },
});
const cloud = startCloud(prepared);
const { grpc: grpcPort, http: cloudHttp } = await cloud.ready;
const [mqttPort, edgeHttpPort] = await freePorts(2);

log(`packaging the edge (amd64, Debian nodejs runtime) and building the disk image in ${dir}`);
const t = Date.now();
execFileSync(process.execPath, [join(ROOT, "edge/deploy/package.mjs"), "--arch", "amd64", "--version", "0.0.0~power", "--out", dir], {
  stdio: ["ignore", "ignore", "inherit"],
});
const deb = join(dir, "bv-edge_0.0.0~power_amd64.deb");
const edgeYaml = stringify({
  version: 1,
  edge_id: "edge-1",
  site_id: "site-1",
  data_dir: "/var/lib/bv-edge",
  mqtt: { host: "0.0.0.0", port: 1883, ws_port: null },
  http: { host: "0.0.0.0", port: 8081 },
  devices_file: "/etc/bv-edge/devices.yaml",
  outbox: { synchronous: SYNCHRONOUS },
  uplink: {
    url: `10.0.2.2:${grpcPort}`, // slirp's address of this machine's 127.0.0.1
    token: prepared.secrets.edgeToken,
    // The cloud's development certificate names localhost, not 10.0.2.2.
    tls: { ca_file: "/etc/bv-edge/cloud-ca.pem", server_name: "localhost" },
    keepalive_ms: 2000,
    backoff_initial_ms: 100,
    backoff_max_ms: 1000,
  },
});
const image = buildDisk({
  dir,
  deb,
  log,
  files: {
    "/etc/bv-edge/edge.yaml": { content: edgeYaml, mode: 0o640, group: "bv-edge" },
    "/etc/bv-edge/devices.yaml": { content: readFileSync(prepared.files.devices), mode: 0o640, group: "bv-edge" },
    "/etc/bv-edge/cloud-ca.pem": { content: readFileSync(join(dir, "cloud-data", "tls", "ca.pem")), mode: 0o644 },
  },
});
const buildS = ((Date.now() - t) / 1000).toFixed(0);
log(`disk image ready in ${buildS} s (kernel ${image.kernelVersion})`);

const vmOptions = {
  ...image,
  accel: kvm.accel,
  memMb: Number(opts["mem-mb"]),
  forwards: [
    { host: mqttPort, guest: 1883 },
    { host: edgeHttpPort, guest: 8081 },
  ],
};

const load = new QosOneLoad({
  url: `mqtt://127.0.0.1:${mqttPort}`,
  fleetSecret: prepared.secrets.fleetSecret,
  deviceIds: prepared.devices.map((d) => d.deviceId),
  window: Number(opts.window),
});

/** Console lines that say something about recovery: ext4's journal replay, the outbox's own recovery, edge warnings. */
function recoveryEvent(line, parsed) {
  if (parsed) {
    if (parsed.level >= 40 || /corrupt|recover|salvag/i.test(String(parsed.msg))) return `edge: ${parsed.msg}`;
    return undefined;
  }
  if (/^bv-power: kernel: .*(recovery|orphan|error|corrupt)/i.test(line)) return line.replace(/^bv-power: kernel: \[[^\]]*\]\s*/, "");
  if (/^bv-power: edge exited/.test(line)) return line.slice("bv-power: ".length);
  return undefined;
}

const cycles = [];
let vm;
let lastAcked = 0;
async function boot(n) {
  const events = [];
  vm = bootVm(vmOptions, (line, parsed) => {
    const e = recoveryEvent(line, parsed);
    if (e) events.push(e);
    if (process.env.BV_POWER_VERBOSE) console.log(`  [vm ${n}] ${line}`);
  });
  const timer = setTimeout(() => vm.cut(), BOOT_TIMEOUT_MS);
  const bootMs = await vm.listening.finally(() => clearTimeout(timer));
  return { bootMs, events };
}

if (!opts.keep) process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
try {
  for (let i = 1; i <= CYCLES; i++) {
    const { bootMs, events } = await boot(i);
    if (i === 1) load.start();
    // Devices back and publishing in this boot, then a random moment under load.
    const before = load.acked.size;
    await waitFor("PUBACKs from the rebooted edge", () => load.acked.size > before + CLIENTS, 60_000, 20);
    // Most devices back (on a slow VM not all make it quickly, which is fine).
    await waitFor("devices to reconnect", () => load.connected() >= CLIENTS / 2, 20_000, 50).catch(() => undefined);
    const loadMs = Math.round(300 + random() * 2700);
    await pause(loadMs);
    const connected = load.connected();
    await vm.cut();
    const acked = load.acked.size - lastAcked;
    lastAcked = load.acked.size;
    cycles.push({ cycle: i, bootMs, loadMs, connected, acked, events });
    log(
      `cycle ${i}: boot→listening ${bootMs} ms, cut after ${loadMs} ms of load (${connected}/${CLIENTS} connected), acked ${acked}${events.length ? `, events: ${events.join(" | ")}` : ""}`,
    );
  }
  // The last boot is not cut: devices re-send what was never acknowledged, then stop; the outbox drains.
  const final = await boot(CYCLES + 1);
  if (final.events.length) log(`final boot events: ${final.events.join(" | ")}`);
  await pause(3000);
  await load.stop();
  let emptyBefore = false;
  await waitFor(
    "the edge outbox to drain",
    async () => {
      const empty = (await edgeMetric(edgeHttpPort, "bv_edge_outbox_readings")) === 0;
      const done = empty && emptyBefore;
      emptyBefore = empty;
      return done;
    },
    120_000,
    250,
  );
  const absorbed = await fetch(`http://127.0.0.1:${cloudHttp}/metrics`)
    .then((r) => r.text())
    .then((text) => Number(/^bv_cloud_readings_duplicate_total(?:\{[^}]*\})?\s+(\S+)/m.exec(text)?.[1] ?? 0));
  await vm.cut();
  await cloud.stop();

  // The check: every PUBACKed reading stored exactly once with the values sent.
  const db = new Database(join(dir, "cloud-data", "telemetry.db"), { readonly: true, fileMustExist: true });
  const rows = db.prepare("SELECT device_id AS d, device_time_ms AS t, values_json AS v FROM readings").all();
  db.close();
  const stored = new Map();
  for (const r of rows) {
    const key = `${r.d}@${r.t}`;
    stored.set(key, [...(stored.get(key) ?? []), r.v]);
  }
  const canonical = (v) => JSON.stringify(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  let lost = 0;
  let duplicated = 0;
  let wrong = 0;
  const examples = [];
  for (const [key, values] of load.acked) {
    const copies = stored.get(key);
    if (!copies) {
      lost += 1;
      if (examples.length < 5) examples.push(`lost ${key}`);
    } else {
      if (copies.length > 1) {
        duplicated += 1;
        if (examples.length < 5) examples.push(`${key} ×${copies.length}`);
      }
      if (copies.some((c) => canonical(JSON.parse(c)) !== canonical(values))) wrong += 1;
    }
  }
  const duplicatedUnacked = [...stored].filter(([k, c]) => c.length > 1 && !load.acked.has(k)).length;
  const storedNotAcked = [...stored.keys()].filter((k) => !load.acked.has(k)).length;

  const bootTimes = cycles.map((c) => c.bootMs).sort((a, b) => a - b);
  const ackedPer = cycles.map((c) => c.acked).sort((a, b) => a - b);
  const median = (xs) => xs[Math.floor(xs.length / 2)];
  // Recovery after the cuts: ext4's journal replay (expected after every cut), the outbox's own
  // recovery of a corrupt file (moved aside, salvaged), edge warnings and exits.
  const allEvents = [...cycles.flatMap((c) => c.events), ...final.events];
  const journalReplays = allEvents.filter((e) => /EXT4-fs .*recovery complete/.test(e)).length;
  const outboxRecoveries = allEvents.filter((e) => e.startsWith("edge:") && /corrupt|salvag|recover/i.test(e)).length;
  const eventCounts = new Map();
  for (const e of allEvents) {
    const kind = e.replace(/\b\d+\b/g, "N").slice(0, 90);
    eventCounts.set(kind, (eventCounts.get(kind) ?? 0) + 1);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const summary = {
    cycles: CYCLES,
    acked: load.acked.size,
    sent: load.sent,
    stored: rows.length,
    lost,
    duplicated,
    wrongValues: wrong,
    duplicatedUnacked,
    storedNotAcked,
    absorbedByCloud: absorbed,
    bootMs: { min: bootTimes[0], median: median(bootTimes), max: bootTimes.at(-1) },
    ackedPerCycle: { min: ackedPer[0], median: median(ackedPer), max: ackedPer.at(-1) },
    bootsAfterCut: CYCLES,
    journalReplays,
    outboxRecoveries,
    events: Object.fromEntries(eventCounts),
    seconds,
  };
  console.log(JSON.stringify(summary, null, 2));
  if (examples.length) console.log(`examples: ${examples.join("; ")}`);

  const ok = lost === 0 && duplicated === 0 && wrong === 0;
  const title = SYNCHRONOUS === "full" ? "Power loss (edge in a VM, qemu SIGKILLed)" : "Power loss: control run, outbox synchronous=normal";
  const body = `
${new Date().toISOString().slice(0, 10)} · ${machine()} · load average at start ${LOAD_AT_START} · \`npm run bench:power -- --cycles ${CYCLES} --clients ${CLIENTS} --window ${opts.window} --seed ${SEED}${SYNCHRONOUS === "full" ? "" : " --synchronous normal"}\` · ${seconds} s

VM: qemu-system-x86_64 (${kvm.accel === "kvm" ? "KVM, -cpu host" : `TCG: ${kvm.reason}`}), 1 vCPU, ${vmOptions.memMb} MB, Debian 13 kernel ${image.kernelVersion},
root filesystem ext4 on a raw image, virtio-blk \`cache=none,aio=threads\`; slirp networking (MQTT and /metrics forwarded,
the cloud's EdgeSync at 10.0.2.2 over TLS). Edge: the amd64 bv-edge package on Debian's nodejs, outbox \`synchronous=${SYNCHRONOUS}\`.
Load: ${CLIENTS} MQTT devices (mqtt.js), QoS 1, ${opts.window} in flight each, reconnecting every 200 ms. Each cycle: boot, wait for
PUBACKs and half the devices connected, a random 0.3–3 s of load, SIGKILL qemu.

| cycles | acked | lost | duplicated | wrong values | stored, never acked | copies absorbed by the cloud | boot → MQTT listening (min / median / max) | acked per cycle (min / median / max) | ext4 journal replays / boots after a cut | outbox recoveries |
| ------ | ----- | ---- | ---------- | ------------ | ------------------- | ---------------------------- | ------------------------------------------ | ------------------------------------ | ---------------------------------------- | ----------------- |
| ${CYCLES} | ${summary.acked} | ${lost} | ${duplicated} | ${wrong} | ${storedNotAcked} | ${absorbed} | ${summary.bootMs.min} / ${summary.bootMs.median} / ${summary.bootMs.max} ms | ${summary.ackedPerCycle.min} / ${summary.ackedPerCycle.median} / ${summary.ackedPerCycle.max} | ${journalReplays} / ${CYCLES} | ${outboxRecoveries} |

"Acked per cycle": PUBACKs between one cut and the next. "Copies absorbed by the cloud": readings the edge committed
twice (a device re-sent a PUBLISH whose PUBACK the cut lost, the edge gave the copy a new seq) or batches re-sent after a
cut; the store kept one of each. Lost and duplicated count acknowledged readings only; the others may or may not be stored.

Console events after the cuts (count × kind): ${eventCounts.size ? [...eventCounts].map(([k, n]) => `${n} × \`${k}\``).join("; ") : "none"}.
`;
  if (!opts["no-results"]) {
    const file = resultsFile();
    writeFileSync(file, replaceSection(existsSync(file) ? readFileSync(file, "utf8") : "# Results\n", title, body));
    log(`wrote "${title}" in ${file}`);
  }
  process.exitCode = ok || SYNCHRONOUS !== "full" ? 0 : 1;
} catch (err) {
  console.error(err);
  if (vm) console.error(`last VM console lines:\n${vm.logs()}`);
  process.exitCode = 1;
} finally {
  await vm?.cut();
  await cloud.stop("SIGKILL");
  setTimeout(() => process.exit(), 2000).unref();
}
