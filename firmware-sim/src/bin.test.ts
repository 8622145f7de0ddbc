import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deriveDeviceSecret, verifySecret } from "@bitvelocity/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { AckedRecord } from "./acked-log.js";
import type { FleetStats } from "./stats.js";
import { startTestBroker, type TestBroker } from "./test-broker.js";

// The built CLI: `npx tsc -b firmware-sim` first.
const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bv-sim-bin-"));
const SECRET = "bin-test-fleet-secret";
let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker(SECRET);
});
afterAll(async () => {
  await broker.close();
});

function sim(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const scenario = `
version: 1
fleets:
  - { type: env-sensor, count: 2, id_prefix: env-, interval_ms: 200 }
  - { type: packaging-plc, count: 1, id_prefix: plc-, interval_ms: 200 }
`;

describe("bv-sim CLI", () => {
  it("prints help", async () => {
    const run = await sim(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--acked-log");
    const provision = await sim(["provision", "--help"]);
    expect(provision.code).toBe(0);
    expect(provision.stdout).toContain("--out");
  });

  it("lists every problem of a bad scenario and exits 1", async () => {
    const bad = file("bad.yaml", "version: 1\nspeed: 3\nfleets:\n  - { type: toaster, count: -1 }\n");
    const run = await sim(["--scenario", bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("speed");
    expect(run.stderr).toContain("fleets.0.type");
    expect(run.stderr).toContain("fleets.0.count");
    const provision = await sim(["provision", "--scenario", bad, "--out", join(dir, "x.yaml")]);
    expect(provision.code).toBe(1);
    expect(provision.stderr).toContain("toaster");
    expect((await sim(["--scenario", file("ok.yaml", scenario), "--duration", "soon"])).code).toBe(1);
    expect((await sim([])).code).toBe(2);
    const noLog = await sim(["--scenario", file("ok2.yaml", scenario), "--acked-log", join(dir, "missing", "acked.jsonl")]);
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toContain("acked log");
  });

  it("provision writes the edge devices file", async () => {
    const out = join(dir, "devices.yaml");
    const run = await sim(["provision", "--scenario", file("p.yaml", scenario), "--out", out], { BV_FLEET_SECRET: SECRET });
    expect(run.code).toBe(0);
    const doc = parseYaml(readFileSync(out, "utf8")) as { devices: { id: string; type: string; secret_hash: string }[] };
    expect(doc.devices.map((d) => d.id)).toEqual(["env-0001", "env-0002", "plc-0001"]);
    expect(verifySecret(deriveDeviceSecret(SECRET, "plc-0001"), doc.devices[2]!.secret_hash)).toBe(true);
  });

  it("runs a scenario for --duration against --broker and prints a JSON summary", async () => {
    const acked = join(dir, "acked.jsonl");
    const run = await sim(
      ["--scenario", file("r.yaml", scenario), "--broker", broker.url, "--duration", "1.5", "--acked-log", acked, "--quiet"],
      {
        BV_FLEET_SECRET: SECRET,
      },
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as FleetStats;
    expect(summary.devices).toBe(3);
    expect(summary.acked).toBeGreaterThan(3);
    const lines = readFileSync(acked, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AckedRecord);
    expect(lines.length).toBe(summary.acked);
    expect(new Set(lines.map((l) => l.deviceId))).toEqual(new Set(["env-0001", "env-0002", "plc-0001"]));
  });

  it("spreads a fleet over --processes, merges their figures, and writes the per-second stats file", async () => {
    const acked = join(dir, "acked-shards.jsonl");
    const stats = join(dir, "stats.jsonl");
    const many = `
version: 1
fleets:
  - { type: env-sensor, count: 5, id_prefix: env-, interval_ms: 100 }
failures:
  - { kind: duplicate, at_s: 1, fraction: 1, duration_s: 0 }
`;
    const run = await sim(
      [
        "--scenario",
        file("m.yaml", many),
        "--broker",
        broker.url,
        "--duration",
        "2.5",
        "--processes",
        "2",
        "--acked-log",
        acked,
        "--stats-file",
        stats,
      ],
      { BV_FLEET_SECRET: SECRET },
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as FleetStats;
    expect(summary.processes).toBe(2);
    expect(summary.devices).toBe(5);
    expect(summary.duplicatesSent).toBe(5);
    expect(summary.failures).toEqual({ duplicate: 2 }); // fired once in each process
    const lines = readFileSync(acked, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AckedRecord);
    expect(lines.length).toBe(summary.acked);
    expect(new Set(lines.map((l) => `${l.deviceId}#${l.n}`)).size).toBe(lines.length);
    expect(new Set(lines.map((l) => l.deviceId)).size).toBe(5);
    const points = readFileSync(stats, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { acked: number; ackedPerS: number });
    expect(points.length).toBeGreaterThanOrEqual(2);
    expect(points.at(-1)!.acked).toBe(summary.acked);
    expect(points.some((p) => p.ackedPerS > 0)).toBe(true);
  });
});
