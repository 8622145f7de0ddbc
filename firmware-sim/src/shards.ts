/**
 * A fleet spread over several simulator processes (`processes: N` / `--processes N`): the parent
 * forks N copies of bv-sim, each running every N-th device (`--shard i/N`), merges their counters
 * and latency histograms (sent over the IPC channel each second) into one progress display, one
 * stats file and one summary. All shards append to the same acked log: each flush is one write()
 * on an O_APPEND file, which Linux keeps whole, so lines never interleave.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Progress, startProgress } from "./progress.js";
import { type FleetStats, LatencyHistogram } from "./stats.js";
import { StatsSeries } from "./timeseries.js";

/** What a shard sends its parent. */
export type ShardMessage =
  | { type: "stats"; stats: FleetStats; all: ReturnType<LatencyHistogram["toJSON"]>; window: ReturnType<LatencyHistogram["toJSON"]> }
  | { type: "final"; stats: FleetStats; all: ReturnType<LatencyHistogram["toJSON"]> };

export interface ShardedOptions {
  /** bv-sim arguments every shard gets (scenario, broker, acked log, duration, seed). */
  readonly args: readonly string[];
  readonly processes: number;
  readonly durationS: number;
  readonly progress: boolean;
  readonly statsFile?: string;
}

interface ShardState {
  readonly child: ChildProcess;
  stats: FleetStats | undefined;
  all: LatencyHistogram;
  final: boolean;
  exited: Promise<void>;
}

const BIN = fileURLToPath(new URL("./bin.js", import.meta.url));

export function parseShard(raw: string): { index: number; count: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(raw);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index < count ? { index, count } : undefined;
}

export function runShards(options: ShardedOptions): { stop(): Promise<FleetStats>; done: Promise<FleetStats> } {
  const startedMs = Date.now();
  let window = new LatencyHistogram();
  const shards: ShardState[] = [];
  for (let i = 0; i < options.processes; i++) {
    const child = fork(BIN, [...options.args, "--shard", `${i}/${options.processes}`, "--quiet"], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    const state: ShardState = {
      child,
      stats: undefined,
      all: new LatencyHistogram(),
      final: false,
      exited: new Promise((resolve) => child.once("exit", () => resolve())),
    };
    child.on("message", (raw) => {
      const msg = raw as ShardMessage;
      state.stats = msg.stats;
      state.all = new LatencyHistogram();
      state.all.merge(msg.all);
      if (msg.type === "stats") window.merge(msg.window);
      else state.final = true;
    });
    shards.push(state);
  }

  const merged = (): FleetStats => {
    const all = new LatencyHistogram();
    for (const s of shards) all.merge(s.all.toJSON());
    return mergeStats(
      shards.flatMap((s) => (s.stats ? [s.stats] : [])),
      all,
      (Date.now() - startedMs) / 1000,
      options.processes,
    );
  };
  const progress: Progress | undefined = options.progress ? startProgress(merged, options.durationS) : undefined;
  const series = options.statsFile ? new StatsSeries(options.statsFile) : undefined;
  const sampler = series
    ? setInterval(() => {
        series.sample(merged(), window);
        window = new LatencyHistogram();
      }, 1_000)
    : undefined;

  let finished: Promise<FleetStats> | undefined;
  const finish = async (signal: NodeJS.Signals | undefined): Promise<FleetStats> => {
    if (signal) for (const s of shards) if (s.child.exitCode === null) s.child.kill(signal);
    await Promise.all(shards.map((s) => s.exited));
    if (sampler) clearInterval(sampler);
    const final = merged();
    series?.sample(final, window);
    progress?.stop(final);
    return final;
  };
  const done = (async () => {
    await Promise.all(shards.map((s) => s.exited));
    finished ??= finish(undefined);
    return finished;
  })();
  return {
    done,
    stop() {
      finished ??= finish("SIGTERM");
      return finished;
    },
  };
}

/** Sums the shards' counters; latency from the merged histogram, rates over the parent's run time. */
export function mergeStats(parts: readonly FleetStats[], latency: LatencyHistogram, elapsedS: number, processes: number): FleetStats {
  const sum = (k: keyof FleetStats) => parts.reduce((n, p) => n + (p[k] as number), 0);
  const failures: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.failures)) failures[k] = (failures[k] ?? 0) + v;
  const acked = sum("acked");
  const elapsed = Math.max(0.001, elapsedS);
  return {
    devices: sum("devices"),
    connected: sum("connected"),
    sent: sum("sent"),
    acked,
    outstanding: sum("outstanding"),
    errors: sum("errors"),
    publishFailures: sum("publishFailures"),
    connects: sum("connects"),
    disconnects: sum("disconnects"),
    authFailures: sum("authFailures"),
    skippedOffline: sum("skippedOffline"),
    commands: sum("commands"),
    commandsFailed: sum("commandsFailed"),
    latencyMs: latency.summary(),
    elapsedS: Math.round(elapsed * 10) / 10,
    ackedPerS: Math.round((acked / elapsed) * 10) / 10,
    queued: sum("queued"),
    droppedQueueFull: sum("droppedQueueFull"),
    lostPowerCycle: sum("lostPowerCycle"),
    unsyncedReadings: sum("unsyncedReadings"),
    duplicatesSent: sum("duplicatesSent"),
    duplicatesAcked: sum("duplicatesAcked"),
    malformedSent: sum("malformedSent"),
    malformedAcked: sum("malformedAcked"),
    flaps: sum("flaps"),
    powerCycles: sum("powerCycles"),
    clockJumps: sum("clockJumps"),
    slowConsumers: sum("slowConsumers"),
    otaUpdates: sum("otaUpdates"),
    failures,
    processes,
  };
}
