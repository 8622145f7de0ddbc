#!/usr/bin/env node
/**
 * bv-sim: run a scenario's fleets against a broker, or write the edge's devices file for them.
 *   bv-sim --scenario FILE [--broker URL] [--acked-log FILE] [--duration S] [--seed N] [--quiet]
 *   bv-sim provision --scenario FILE --out devices.yaml
 *   bv-sim plc | bv-sim meter (industrial peers: OPC UA PLC, Modbus meters; see industrial-cli.ts)
 *   bv-sim payments (the payment provider the cloud's checkout calls; see payments/payments-cli.ts)
 *   bv-sim warehouse (a warehouse on RabbitMQ: confirmed orders in, shipment updates out; see warehouse/warehouse-cli.ts)
 *   bv-sim carrier (the shipping carrier, SOAP, the cloud's shipping calls; see carrier/carrier-cli.ts)
 */
import { writeFileSync } from "node:fs";
import { ConfigError, createLogger, parseCli, runMain, silentLogger, waitForShutdown } from "@bitvelocity/common";
import { type FleetHandle, runFleet } from "./fleet.js";
import { edgeDevicesYaml, provisionFleet } from "./provision.js";
import { loadScenario } from "./scenario.js";
import { parseShard, runShards, type ShardMessage } from "./shards.js";

const RUN_USAGE = `Usage: bv-sim --scenario FILE [options]

Simulates the scenario's device fleets against an MQTT broker until stopped (SIGINT/SIGTERM) or
for duration_s; prints a JSON summary on stdout at the end.

Options:
  --scenario FILE    scenario YAML (see firmware-sim/README.md)
  --broker URL       broker URL (overrides broker.url and BV_MQTT_URL)
  --acked-log FILE   append one JSON line per acknowledged telemetry message
  --duration S       stop after S seconds (0 = until stopped)
  --seed N           seed for signals and timing
  --stats-file FILE  one JSON line per second: counters and that second's latency percentiles
  --processes N      spread the devices over N simulator processes (overrides processes:)
  --quiet            no progress line, no logs
  -h, --help         this help

Environment: BV_MQTT_URL (broker.url), BV_FLEET_SECRET (fleet_secret), BV_LOG_LEVEL.
Other commands: bv-sim provision --help, bv-sim plc --help (OPC UA PLC), bv-sim meter --help (Modbus meters),
bv-sim payments --help (payment provider), bv-sim carrier --help (shipping carrier, SOAP),
bv-sim warehouse --help (warehouse on RabbitMQ)`;

const PROVISION_USAGE = `Usage: bv-sim provision --scenario FILE --out devices.yaml

Writes the edge's devices file for the scenario: every device's id, type, name and the hash of
its derived secret (deriveDeviceSecret(fleet_secret, id)).

Options:
  --scenario FILE    scenario YAML
  --out FILE         where to write the devices file ("-" for stdout)
  -h, --help         this help`;

function numberFlag(name: string, raw: string | boolean | undefined): number | undefined {
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError([`--${name}: expected a number, got ${JSON.stringify(raw)}`]);
  return n;
}

function requireFlag(name: string, raw: string | boolean | undefined, usage: string): string {
  if (typeof raw !== "string" || raw === "") {
    process.stderr.write(`bv-sim: --${name} is required\n\n${usage}\n`);
    process.exit(2);
  }
  return raw;
}

async function provision(argv: string[]): Promise<void> {
  const { values } = parseCli(
    { name: "bv-sim provision", usage: PROVISION_USAGE, options: { scenario: { type: "string" }, out: { type: "string" } } },
    argv,
  );
  const scenario = loadScenario(requireFlag("scenario", values.scenario, PROVISION_USAGE));
  const out = requireFlag("out", values.out, PROVISION_USAGE);
  const devices = provisionFleet(scenario);
  const text = edgeDevicesYaml(devices);
  if (out === "-") process.stdout.write(text);
  else {
    writeFileSync(out, text, { mode: 0o600 });
    process.stderr.write(`bv-sim: wrote ${devices.length} devices to ${out}\n`);
  }
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseCli(
    {
      name: "bv-sim",
      usage: RUN_USAGE,
      options: {
        scenario: { type: "string" },
        broker: { type: "string" },
        "acked-log": { type: "string" },
        duration: { type: "string" },
        seed: { type: "string" },
        "stats-file": { type: "string" },
        processes: { type: "string" },
        shard: { type: "string" },
        quiet: { type: "boolean" },
      },
    },
    argv,
  );
  const file = requireFlag("scenario", values.scenario, RUN_USAGE);
  const overrides: Record<string, unknown> = {};
  if (typeof values.broker === "string") overrides["broker.url"] = values.broker;
  const duration = numberFlag("duration", values.duration);
  if (duration !== undefined) overrides.duration_s = duration;
  const seed = numberFlag("seed", values.seed);
  if (seed !== undefined) overrides.seed = seed;
  const processes = numberFlag("processes", values.processes);
  if (processes !== undefined) overrides.processes = processes;
  const scenario = loadScenario(file, process.env, overrides);
  const quiet = values.quiet === true;
  const ackedLog = typeof values["acked-log"] === "string" ? values["acked-log"] : undefined;
  const statsFile = typeof values["stats-file"] === "string" ? values["stats-file"] : undefined;
  const shard = typeof values.shard === "string" ? parseShard(values.shard) : undefined;
  if (typeof values.shard === "string" && !shard)
    throw new ConfigError([`--shard: expected INDEX/COUNT, got ${JSON.stringify(values.shard)}`]);
  const signal = waitForShutdown();

  if (scenario.processes > 1 && !shard) {
    const args = ["--scenario", file, "--duration", String(scenario.duration_s), "--seed", String(scenario.seed)];
    args.push("--broker", scenario.broker.url);
    if (ackedLog) args.push("--acked-log", ackedLog);
    const shards = runShards({
      args,
      processes: scenario.processes,
      durationS: scenario.duration_s,
      progress: !quiet,
      ...(statsFile ? { statsFile } : {}),
    });
    const final = await Promise.race([shards.done, signal.then(() => shards.stop())]);
    process.stdout.write(`${JSON.stringify(final)}\n`);
    process.exit(0);
  }

  const fleet = runFleet(scenario, {
    ...(ackedLog ? { ackedLog } : {}),
    ...(statsFile ? { statsFile } : {}),
    ...(shard ? { shard } : {}),
    // stdout carries the JSON summary; logs stay at warn unless BV_LOG_LEVEL asks for more.
    logger: quiet ? silentLogger() : createLogger("sim:fleet", process.env.BV_LOG_LEVEL ?? "warn"),
    progress: !quiet,
  });
  const report = shard && process.send ? startReporting(fleet) : undefined;
  const final = await Promise.race([fleet.done, signal.then(() => fleet.stop())]);
  if (report) await report(final);
  process.stdout.write(`${JSON.stringify(final)}\n`);
  process.exit(0);
}

/** A shard tells its parent (shards.ts) how it is doing every second, and its final figures. */
function startReporting(fleet: FleetHandle): (final: ReturnType<FleetHandle["stats"]>) => Promise<void> {
  const send = (msg: ShardMessage) => new Promise<void>((resolve) => process.send?.(msg, undefined, {}, () => resolve()));
  const timer = setInterval(() => {
    const { all, window } = fleet.histograms();
    void send({ type: "stats", stats: fleet.stats(), all: all.toJSON(), window: window.toJSON() });
  }, 1_000);
  return async (final) => {
    clearInterval(timer);
    await send({ type: "final", stats: final, all: fleet.histograms().all.toJSON() });
  };
}

const argv = process.argv.slice(2);
if (argv[0] === "provision") runMain("bv-sim provision", () => provision(argv.slice(1)));
// The industrial peers load node-opcua only when asked for (it takes seconds and ~100 MB).
else if (argv[0] === "plc") runMain("bv-sim plc", async () => (await import("./industrial-cli.js")).runPlc(argv.slice(1)));
else if (argv[0] === "meter") runMain("bv-sim meter", async () => (await import("./industrial-cli.js")).runMeter(argv.slice(1)));
else if (argv[0] === "payments")
  runMain("bv-sim payments", async () => (await import("./payments/payments-cli.js")).runPayments(argv.slice(1)));
else if (argv[0] === "warehouse")
  runMain("bv-sim warehouse", async () => (await import("./warehouse/warehouse-cli.js")).runWarehouse(argv.slice(1)));
else if (argv[0] === "carrier") runMain("bv-sim carrier", async () => (await import("./carrier/carrier-cli.js")).runCarrier(argv.slice(1)));
else runMain("bv-sim", () => run(argv));
