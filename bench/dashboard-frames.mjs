// Rendering smoothness of the device page in headless Chromium with 20 live series: 20
// environmental sensors at 1 Hz (BENCH_FRAMES_INTERVAL_MS), the device page in "Compare with
// peers" mode (one uPlot, 20 series, redrawn as readings arrive). Frame times come from
// requestAnimationFrame in the page; long tasks from PerformanceObserver. Writes
// bench/RESULTS.md "Dashboard rendering".
//
// Knobs: BENCH_FRAMES_SERIES (20), BENCH_FRAMES_INTERVAL_MS (1000), BENCH_FRAMES_SECONDS (20).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { prepareSystem, ROOT, startCloud, startEdge, startSim } from "../scripts/system.mjs";
import { percentile, replaceSection, resultsFile } from "./lib.mjs";

const SERIES = Number(process.env.BENCH_FRAMES_SERIES ?? 20);
const INTERVAL = Number(process.env.BENCH_FRAMES_INTERVAL_MS ?? 1000);
const SECONDS = Number(process.env.BENCH_FRAMES_SECONDS ?? 20);
const CHROMIUM = process.env.BV_CHROMIUM ?? "/usr/bin/chromium";

async function main() {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write(`skipping the dashboard rendering bench: no Chromium at ${CHROMIUM}\n`);
    return;
  }
  const prepared = prepareSystem({
    dir: join(ROOT, ".bench-data", `frames-${Date.now()}`),
    scenarioOverrides: { fleets: [{ type: "env-sensor", count: SERIES, id_prefix: "env-", interval_ms: INTERVAL }] },
  });
  const cloud = startCloud(prepared);
  const cp = await cloud.ready;
  const base = `http://127.0.0.1:${cp.http}`;
  const edge = startEdge(prepared, cp.grpc);
  const sim = startSim(prepared, (await edge.ready).mqtt, { args: ["--quiet"] });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await page.goto(`${base}/#/login`);
    await page.getByTestId("login-username").fill("admin");
    await page.getByTestId("login-password").fill(prepared.secrets.adminPassword);
    await page.getByTestId("login-submit").click();
    await page.getByTestId("current-user").waitFor();
    await page.goto(`${base}/#/devices/env-0001`);
    await page.getByTestId("compare-toggle").click();
    await page.getByTestId("compare-chart").locator("canvas").waitFor();
    await page.waitForTimeout(5000);
    const series = Number(await page.getByTestId("compare-chart").getAttribute("data-series"));
    if (series !== SERIES) throw new Error(`the compare chart shows ${series} series, expected ${SERIES}`);
    const result = await page.evaluate(async (seconds) => {
      const frames = [];
      const longTasks = [];
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) longTasks.push(e.duration);
      });
      try {
        observer.observe({ entryTypes: ["longtask"] });
      } catch {}
      await new Promise((resolve) => {
        let last = performance.now();
        const end = last + seconds * 1000;
        const step = (t) => {
          frames.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      observer.disconnect();
      return { frames, longTasks };
    }, SECONDS);
    const frames = result.frames.slice(1).sort((a, b) => a - b);
    const fps = frames.length / SECONDS;
    const slow = frames.filter((f) => f > 50).length;
    const fmt = (v) => (typeof v === "number" ? v.toFixed(1) : v);
    const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}, Node ${process.version}`;
    const version = browser.version();
    const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine} · Chromium ${version} headless, --disable-gpu (software rendering)
Command: \`BENCH_FRAMES_SERIES=${SERIES} BENCH_FRAMES_INTERVAL_MS=${INTERVAL} BENCH_FRAMES_SECONDS=${SECONDS} node bench/dashboard-frames.mjs\`

| figure | value |
|---|---|
| live series on the device page (Compare with peers) | ${SERIES} devices × ${(1000 / INTERVAL).toFixed(1)} Hz |
| frames in ${SECONDS} s (requestAnimationFrame) | ${frames.length} (**${fps.toFixed(1)} fps**) |
| frame interval p50 / p95 / p99 / max | **${fmt(percentile(frames, 50))} / ${fmt(percentile(frames, 95))} / ${fmt(percentile(frames, 99))} / ${fmt(frames.at(-1))} ms** |
| frames longer than 50 ms | ${slow} (${((slow / Math.max(1, frames.length)) * 100).toFixed(1)} %) |
| long tasks (> 50 ms main-thread work) | ${result.longTasks.length}${result.longTasks.length ? `, longest ${Math.max(...result.longTasks).toFixed(0)} ms` : ""} |

How: after 5 s of warm-up with the compare chart on, the page records the interval between successive
requestAnimationFrame callbacks for ${SECONDS} s while readings stream in over socket.io; the chart keeps one slot per
second per device and redraws at most once per animation frame. A steady 60 fps is a 16.7 ms interval.
Caveat: the machine is shared and Chromium renders in software here; the simulator, edge and cloud run beside it.
`;
    const file = resultsFile();
    writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Dashboard rendering", body));
    process.stdout.write(`${body}\n`);
  } finally {
    await browser.close();
    await sim.stop();
    await edge.stop();
    await cloud.stop();
  }
}

await main();
