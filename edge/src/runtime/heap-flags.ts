/**
 * The V8 flags of the agent's two heap modes (heap-mode.ts has the why). No imports but Node's:
 * start-compact.ts applies the compact ones before the agent reads its configuration.
 */

export const BUSY_GROWTH_PERCENT = 100;

export type HeapMode = "compact" | "busy";

/**
 * Whether this process was started by one of the agent's launchers, which cap the young generation
 * (`--max-semi-space-size`) and leave the rest of the heap to the agent (start-compact.ts, heap-mode.ts). A process started
 * otherwise (a test runner, a developer's `node`) keeps its own choice.
 */
export function launchedByAgent(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((a) => a.startsWith("--max-semi-space-size"));
}

/**
 * V8's flags for a mode (`--heap-growing-percent=0` is V8's default: no fixed growth). Compact
 * keeps the young generation where it is (`--semi-space-growth-factor=1`: V8 may not double it);
 * busy lets V8 double it, up to the launchers' `--max-semi-space-size`, as its survivors ask.
 */
export function heapFlags(mode: HeapMode): string {
  return mode === "busy"
    ? `--no-optimize-for-size --heap-growing-percent=${BUSY_GROWTH_PERCENT} --semi-space-growth-factor=2`
    : "--optimize-for-size --heap-growing-percent=0 --semi-space-growth-factor=1";
}
