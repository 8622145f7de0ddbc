/**
 * The config lane (docs/edge-sync.md): ConfigUpdates from the cloud are checked with the edge's
 * own schema over its file, kept in the state directory, applied hot where the running agent can
 * take them (plan.ts) or by a controlled restart, and answered with a ConfigReport.
 *
 * Safety net: a newly applied version is on trial until the edge reaches the cloud with it. If it
 * cannot for `remote_config.rollback_after_s`, the edge goes back to the last version that did
 * (or to its file) and reports "rolled-back" with the reason when the link is back. A version it
 * rolled back is not applied again when offered again (the cloud may re-send it before the report
 * arrives); a new version is needed.
 */
import { ConfigError, errorMessage, type Logger } from "@bitvelocity/common";
import { type ConfigDocument, localKeyProblems, parseConfigDocument } from "@bitvelocity/common/edge-config";
import type { ConfigReport } from "@bitvelocity/proto";
import type { EdgeConfig } from "../config.js";
import type { IncomingConfigUpdate } from "../northbound/uplink.js";
import { planApply } from "./plan.js";
import { documentOf, type RemoteConfigStore, type RemoteState, type StoredReport, type StoredVersion } from "./store.js";

/** How the agent exits to have its supervisor start it again with the new config (EX_TEMPFAIL). */
export const RESTART_EXIT_CODE = 75;

const KEEP_ROLLED_BACK = 20;

export interface ConfigLaneOptions {
  readonly edgeId: string;
  readonly store: RemoteConfigStore;
  /** The config the agent runs now. */
  readonly current: EdgeConfig;
  /** The effective config for a document over the file (undefined: the file alone); throws ConfigError. */
  readonly load: (doc: ConfigDocument | undefined) => EdgeConfig;
  /** Ends the agent so that its supervisor starts it again (bin: exit RESTART_EXIT_CODE). */
  readonly restart: (reason: string) => void;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The running agent, as the lane sees it (given once the parts are built). */
export interface LaneIo {
  /** Applies a config whose plan has no restart. */
  readonly applyHot: (next: EdgeConfig) => void;
  readonly post: (report: ConfigReport) => boolean;
  readonly connected: () => boolean;
}

const DETACHED: LaneIo = { applyHot: () => undefined, post: () => false, connected: () => false };

export class ConfigLane {
  private state: RemoteState;
  private current: EdgeConfig;
  private rollbackTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  private io: LaneIo = DETACHED;

  constructor(
    private readonly options: ConfigLaneOptions,
    state: RemoteState,
  ) {
    this.state = state;
    this.current = options.current;
    this.now = options.now ?? Date.now;
  }

  /** The remote version the agent runs (0: its file alone), for Hello.config_version. */
  runningVersion(): number {
    return this.state.running?.version ?? 0;
  }

  /** Arms the rollback clock when the agent came up on a version still on trial (after a restart). */
  start(io: LaneIo): void {
    this.io = io;
    if (this.state.trial) this.armRollback();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.rollbackTimer);
  }

  /**
   * The agent could not start on the version on trial (a port taken, a file missing): the last good
   * version (or the file) runs at the next start, and the report says why. False when nothing was on trial.
   */
  startFailed(err: unknown): boolean {
    const trial = this.state.trial;
    if (!trial) return false;
    const to = this.state.lastGood;
    const reason = `the agent could not start with version ${trial.version}: ${errorMessage(err)}; back to ${to ? `version ${to.version}` : "its file"}`;
    this.save({
      ...this.state,
      running: to,
      trial: null,
      rolledBack: [...this.state.rolledBack, trial.version].slice(-KEEP_ROLLED_BACK),
      report: {
        version: trial.version,
        state: "rolled-back",
        problems: [reason],
        runningVersion: to?.version ?? 0,
        restarted: true,
        timeMs: this.now(),
      },
    });
    return true;
  }

  /** A welcomed session: the running version reached the cloud; the latest report goes out. */
  sessionOpened(): void {
    if (this.state.trial) this.confirm();
    this.postReport();
  }

  update(update: IncomingConfigUpdate): void {
    const { version } = update;
    const running = this.runningVersion();
    if (version === running && this.state.report?.version === version) {
      this.postReport(); // the same version again (a re-sent update): answer as before
      return;
    }
    if (this.state.rolledBack.includes(version)) {
      // Offered again (the cloud re-sends a pending version at each Hello until our report arrives).
      if (this.state.report?.version === version) this.postReport();
      else {
        const problems = [`version ${version} was rolled back on this edge; send a new version`];
        this.report({ version, state: "rolled-back", problems, runningVersion: running, restarted: false });
      }
      return;
    }
    if (!this.options.current.remote_config.enabled) {
      const problems = ["remote_config.enabled is false in this edge's file"];
      this.report({ version, state: "rejected", problems, runningVersion: running, restarted: false });
      return;
    }
    const checked = this.check(update);
    if ("problems" in checked) {
      this.options.logger.warn({ version, problems: checked.problems.length }, "remote configuration rejected");
      this.report({ version, state: "rejected", problems: checked.problems, runningVersion: running, restarted: false });
      return;
    }
    this.apply({ version, yaml: update.yaml }, checked.config, "applied");
  }

  private check(update: IncomingConfigUpdate): { config: EdgeConfig } | { problems: string[] } {
    const parsed = parseConfigDocument(update.yaml);
    if ("problems" in parsed) return parsed;
    const problems = localKeyProblems(parsed.doc, this.options.edgeId);
    if (problems.length > 0) return { problems };
    try {
      return { config: this.options.load(parsed.doc) };
    } catch (err) {
      if (err instanceof ConfigError) return { problems: [...err.problems] };
      return { problems: [errorMessage(err)] };
    }
  }

  /** Persists, then applies hot or restarts; the report says what happened. */
  private apply(target: StoredVersion | null, config: EdgeConfig, outcome: "applied" | "rolled-back", problems: string[] = []): void {
    const plan = planApply(this.current, config);
    const restarted = plan.restartFor.length > 0;
    const version = outcome === "applied" ? (target?.version ?? 0) : (this.state.trial?.version ?? this.runningVersion());
    const rolledBack = outcome === "rolled-back" ? [...this.state.rolledBack, version].slice(-KEEP_ROLLED_BACK) : this.state.rolledBack;
    const report: StoredReport = {
      version,
      state: outcome,
      problems,
      runningVersion: target?.version ?? 0,
      restarted,
      timeMs: this.now(),
    };
    // A rollback goes to a version that reached the cloud: it is not on trial itself.
    const trial = outcome === "applied" && plan.changed ? { version, sinceMs: this.now() } : null;
    // Nothing to prove (no change, or a rollback): the version counts as good at once.
    const lastGood = trial ? this.state.lastGood : target;
    this.save({ ...this.state, running: target, lastGood, trial, report, rolledBack });
    this.options.logger.info({ version, outcome, restartFor: plan.restartFor }, `remote configuration ${outcome}`);
    if (restarted) {
      clearTimeout(this.rollbackTimer);
      this.options.restart(`configuration version ${target?.version ?? 0} changes ${plan.restartFor.join(", ")}`);
      return;
    }
    this.io.applyHot(config);
    this.current = config;
    if (this.state.trial && this.io.connected()) this.confirm();
    else if (this.state.trial) this.armRollback();
    this.postReport();
  }

  private confirm(): void {
    clearTimeout(this.rollbackTimer);
    this.save({ ...this.state, lastGood: this.state.running, trial: null });
  }

  private armRollback(): void {
    clearTimeout(this.rollbackTimer);
    const trial = this.state.trial;
    if (!trial || this.stopped) return;
    const afterMs = this.current.remote_config.rollback_after_s * 1000;
    const dueInMs = Math.max(0, trial.sinceMs + afterMs - this.now());
    this.rollbackTimer = setTimeout(() => this.rollback(afterMs), dueInMs);
    this.rollbackTimer.unref();
  }

  private rollback(afterMs: number): void {
    if (this.stopped || !this.state.trial) return;
    const to = this.state.lastGood;
    const reason = `the edge could not reach the cloud for ${Math.round(afterMs / 1000)} s after applying version ${this.state.trial.version}; back to ${to ? `version ${to.version}` : "its file"}`;
    let config: EdgeConfig;
    try {
      config = this.options.load(to ? documentOf(to) : undefined);
    } catch (err) {
      // The last good version no longer loads over the file (the file changed): fall back to the file.
      this.options.logger.error({ err }, "the last good configuration does not load; rolling back to the file");
      config = this.options.load(undefined);
      this.apply(null, config, "rolled-back", [reason, `version ${to?.version} no longer loads: ${errorMessage(err)}`]);
      return;
    }
    this.apply(to, config, "rolled-back", [reason]);
  }

  private report(r: Omit<StoredReport, "timeMs">): void {
    this.save({ ...this.state, report: { ...r, timeMs: this.now() } });
    this.postReport();
  }

  private postReport(): void {
    const r = this.state.report;
    if (!r) return;
    this.io.post({ ...r, problems: [...r.problems] });
  }

  private save(state: RemoteState): void {
    this.state = state;
    this.options.store.save(state);
  }
}
