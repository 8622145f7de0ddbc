/**
 * Live statistics on the terminal. On a TTY: a progress bar (connected devices, or the run's
 * elapsed share when it has a duration) and the counters, rewritten in place every second. Not on
 * a TTY (CI, pipes): one plain line every few seconds, so logs stay readable.
 */
import { type FleetStats, progressLine } from "./stats.js";

const BAR_WIDTH = 20;

export function progressBar(s: FleetStats, durationS: number): string {
  const share = durationS > 0 ? Math.min(1, s.elapsedS / durationS) : s.devices > 0 ? s.connected / s.devices : 0;
  const full = Math.round(share * BAR_WIDTH);
  const label = durationS > 0 ? `${s.elapsedS.toFixed(0)}/${durationS}s` : `${s.connected}/${s.devices} online`;
  return `[${"#".repeat(full)}${"-".repeat(BAR_WIDTH - full)}] ${label}`;
}

/** A second line with the fault counters, shown only when something was injected or went wrong. */
export function faultLine(s: FleetStats): string | undefined {
  const parts: string[] = [];
  for (const [kind, n] of Object.entries(s.failures)) parts.push(`${kind}×${n}`);
  if (s.queued > 0) parts.push(`queued ${s.queued}`);
  if (s.lostPowerCycle > 0) parts.push(`lost ${s.lostPowerCycle}`);
  if (s.droppedQueueFull > 0) parts.push(`queue-full ${s.droppedQueueFull}`);
  if (s.unsyncedReadings > 0) parts.push(`1970-stamped ${s.unsyncedReadings}`);
  return parts.length > 0 ? `  faults: ${parts.join(" ")}` : undefined;
}

export interface Progress {
  stop(final: FleetStats): void;
}

export function startProgress(stats: () => FleetStats, durationS: number): Progress {
  const tty = process.stderr.isTTY === true;
  let lines = 0;
  const write = (s: FleetStats) => {
    const faults = faultLine(s);
    if (!tty) {
      process.stderr.write(`${progressLine(s)}${faults ? ` |${faults}` : ""}\n`);
      return;
    }
    const out = [`${progressBar(s, durationS)} ${progressLine(s)}`, ...(faults ? [faults] : [])];
    // Move up over what we wrote last time, clear, rewrite.
    const up = lines > 1 ? `\x1b[${lines - 1}A` : "";
    process.stderr.write(`${up}\r\x1b[0J${out.join("\n")}`);
    lines = out.length;
  };
  const timer = setInterval(() => write(stats()), tty ? 1_000 : 3_000);
  timer.unref();
  return {
    stop(final: FleetStats) {
      clearInterval(timer);
      write(final);
      if (tty) process.stderr.write("\n");
    },
  };
}
