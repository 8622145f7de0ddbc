/**
 * Remote configuration at boot: the agent runs the last applied remote version over its file
 * (the state is `<data_dir>/remote-config.json`). If that version no longer loads over the file
 * (the file was edited on the edge), the agent falls back to the last good version, or to the
 * file, and reports "rolled-back" with the reason at its next session.
 */
import { errorMessage, type Logger, loadConfig } from "@bitvelocity/common";
import { type ConfigDocument, edgeConfigSchema } from "@bitvelocity/common/edge-config";
import type { EdgeConfig } from "../config.js";
import { ConfigLane } from "./lane.js";
import { documentOf, RemoteConfigStore, type RemoteState, type StoredVersion } from "./store.js";

export { ConfigLane, type LaneIo, RESTART_EXIT_CODE } from "./lane.js";
export { planApply } from "./plan.js";
export { STATE_FILE } from "./store.js";

export interface RemoteConfigHooks {
  /** The effective config for a document over the file; default: over the config the agent was started with. */
  readonly load?: (doc: ConfigDocument | undefined) => EdgeConfig;
  /** Ends the agent for a controlled restart (bin.ts: stop, then exit RESTART_EXIT_CODE). */
  readonly restart: (reason: string) => void;
}

/** Documents laid over a config object (tests, and programs that start the edge without a file). */
export function layeredOver(base: EdgeConfig): (doc: ConfigDocument | undefined) => EdgeConfig {
  return (doc) => (doc ? loadConfig(edgeConfigSchema, { env: {}, layers: [base, doc] }) : base);
}

/** The config to run (the file with the running remote version over it) and the lane that keeps it. */
export function openRemoteConfig(file: EdgeConfig, hooks: RemoteConfigHooks, logger: Logger): { config: EdgeConfig; lane: ConfigLane } {
  const store = new RemoteConfigStore(file.data_dir);
  let state: RemoteState = store.load();
  const load = hooks.load ?? layeredOver(file);
  let config = file;
  if (!file.remote_config.enabled) {
    if (state.running) {
      logger.warn({ version: state.running.version }, "remote_config.enabled is false: running on the file alone");
      state = { ...state, running: null, trial: null };
      store.save(state);
    }
  } else if (state.running) {
    const running = state.running;
    try {
      config = load(documentOf(running));
    } catch (err) {
      const good = state.lastGood && state.lastGood.version !== running.version ? state.lastGood : null;
      let fallback: StoredVersion | null = null;
      if (good) {
        try {
          config = load(documentOf(good));
          fallback = good;
        } catch {
          config = file; // the last good version does not load either: the file alone
        }
      }
      const reason = `version ${running.version} no longer loads over this edge's file: ${errorMessage(err)}`;
      logger.error({ version: running.version, err }, "remote configuration does not load; rolled back");
      state = {
        ...state,
        running: fallback,
        lastGood: fallback,
        trial: null,
        rolledBack: [...state.rolledBack, running.version].slice(-20),
        report: {
          version: running.version,
          state: "rolled-back",
          problems: [reason],
          runningVersion: fallback?.version ?? 0,
          restarted: true,
          timeMs: Date.now(),
        },
      };
      store.save(state);
    }
  }
  const lane = new ConfigLane({ edgeId: file.edge_id, store, current: config, load, restart: hooks.restart, logger }, state);
  return { config, lane };
}
