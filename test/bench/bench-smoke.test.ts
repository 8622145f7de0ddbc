// The benchmark harness must not rot: run its quick mode end to end (real cloud, edge, simulator,
// Mosquitto) into a scratch copy of RESULTS.md and check that real figures came out.
import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/system.mjs";
import { missingService, tempDir } from "../e2e/support.js";

const mosquittoAvailable = () => spawnSync("mosquitto", ["-h"], { stdio: "ignore" }).error === undefined;

function bench(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "bench", script)],
      { env: { ...process.env, BENCH_QUICK: "1", ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function scratchResults(): { dir: string; file: string } {
  const dir = tempDir("bench-smoke");
  const file = join(dir, "RESULTS.md");
  copyFileSync(join(ROOT, "bench/RESULTS.md"), file);
  return { dir, file };
}

const section = (doc: string, title: string) => {
  const start = doc.indexOf(`## ${title}`);
  const next = doc.indexOf("\n## ", start + 3);
  return start < 0 ? "" : doc.slice(start, next < 0 ? undefined : next);
};

describe("bench harness (quick mode)", () => {
  it("telemetry path: every acknowledged reading stored, figures and the SVG written", async () => {
    const { dir, file } = scratchResults();
    const run = await bench("run.mjs", { BENCH_RESULTS: file, BENCH_DATA: join(dir, "data") });
    expect(run.code, run.stderr).toBe(0);
    const text = section(readFileSync(file, "utf8"), "Telemetry path");
    const stored = /readings stored in the cloud \(distinct\) \| (\d+) \(all\)/.exec(text);
    expect(stored, text).not.toBeNull();
    expect(Number(stored![1])).toBeGreaterThan(50);
    expect(text).toMatch(/edge CPU \/ RSS at end \(peak\) \| \d+ % of one core \/ \d+ MB/);
    expect(text).toContain("BENCH_DEVICES=20");
    const svg = readFileSync(join(dir, "telemetry-path.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<path d="M/g)?.length).toBeGreaterThanOrEqual(5); // two rates, two latencies, RSS lines
    // The real RESULTS.md is left alone.
    expect(readFileSync(join(ROOT, "bench/RESULTS.md"), "utf8")).not.toContain("BENCH_DEVICES=20 ");
  }, 60_000);

  const noMosquitto = missingService("the mosquitto binary (Debian package mosquitto)", mosquittoAvailable());
  it.skipIf(noMosquitto)(
    "broker comparison: edge and Mosquitto measured at QoS 1 and 0, ratios reported",
    async () => {
      const { file } = scratchResults();
      const run = await bench("broker-compare.mjs", { BENCH_RESULTS: file });
      expect(run.code, run.stderr).toBe(0);
      const text = section(readFileSync(file, "utf8"), "Broker comparison");
      for (const qos of [1, 0]) {
        const row = new RegExp(
          `\\| QoS ${qos} \\| ([\\d,]+) msg/s \\| ([\\d,]+|n/a) msg/s \\| \\*\\*([\\d.]+|n/a)×\\*\\*.*?\\| ([\\d,]+) / ([\\d,]+) \\|`,
        ).exec(text);
        expect(row, text).not.toBeNull();
        const n = (s: string) => Number(s.replaceAll(",", ""));
        expect(n(row![1]!)).toBeGreaterThan(0); // edge, counted by the edge
        expect(n(row![4]!)).toBeGreaterThan(0); // client side, edge run
        expect(n(row![5]!)).toBeGreaterThan(0); // client side, Mosquitto run
      }
      expect(text).toContain("Not the same promise");
      expect(existsSync(file)).toBe(true);
    },
    60_000,
  );

  it("edge CPU per reading: the edge alone under the flood, CPU per committed reading reported", async () => {
    const { file } = scratchResults();
    const run = await bench("edge-flood.mjs", { BENCH_RESULTS: file, BENCH_FLOOD_ROUNDS: "1", BENCH_FLOOD_QOS: "0,1" });
    expect(run.code, run.stderr).toBe(0);
    const text = section(readFileSync(file, "utf8"), "Edge CPU per reading");
    for (const qos of [0, 1]) {
      const row = new RegExp(`\\| QoS ${qos} \\| \\*\\*([\\d.]+) µs\\*\\* .*?\\| ([\\d,]+)/s`).exec(text);
      expect(row, text).not.toBeNull();
      expect(Number(row![1])).toBeGreaterThan(0);
      expect(Number(row![2]!.replaceAll(",", ""))).toBeGreaterThan(0);
    }
  }, 60_000);
});
