/**
 * Signed agent updates with automatic rollback (edge/deploy/README.md "Updates").
 *
 * An offer is checked before a byte is fetched (architecture, origin, ed25519 signature over the
 * manifest with the release key this edge was claimed with), then downloaded resumably, checked
 * again (size, SHA-256), extracted beside the running release, and switched to: `current` points
 * at it, a trial starts, and the agent exits with RESTART_EXIT_CODE so systemd starts the new one.
 *
 * The new agent is on trial until it is welcomed by the cloud: then it reports "healthy" and the
 * trial ends. If that does not happen within the offer's health deadline, it switches back itself;
 * if it crash-loops, the launcher switches back after a few starts. Either way the agent that
 * starts next reports "rolled-back" with the reason. Reports wait in the releases directory until
 * a session takes them, so a restart never loses one. The outbox is not touched by any of this.
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { BvError, errorMessage, type Logger, verifyRelease } from "@bitvelocity/common";
import type { ReleaseOffer, UpdateReport } from "@bitvelocity/proto";
import { download, sha256Of } from "./download.js";
import { ReleaseDir } from "./release-dir.js";

/** The agent exits with this code to be restarted into another release (the same as for a configuration restart). */
export { RESTART_EXIT_CODE } from "../remote-config/lane.js";

export type UpdateState = "downloading" | "refused" | "installed" | "healthy" | "rolled-back" | "failed";

export interface UpdateSettings {
  /** Where the launcher looks for releases (BV_EDGE_RELEASES_DIR); undefined: not started by the launcher, updates impossible. */
  readonly releasesDir: string | undefined;
  /** The release key from the claim (PEM, SPKI); null: the edge was claimed before releases were signed. */
  readonly publicKeyPem: string | null;
  /** The cloud origin the edge was claimed from: packages are downloaded from it only. */
  readonly cloudUrl: string;
  readonly edgeId: string;
  readonly token: string;
  readonly caFile: string | null;
}

export interface UpdaterOptions {
  readonly settings: UpdateSettings;
  readonly agentVersion: string;
  readonly arch: string;
  readonly logger: Logger;
  /** Sends a report on the current session; false when there is none. */
  readonly post: (report: UpdateReport) => boolean;
  /** Stops the agent and exits with RESTART_EXIT_CODE. */
  readonly restart: (reason: string) => void;
  /** Download attempts per offer (resumed), and the pause between them. */
  readonly attempts?: number;
  readonly retryMs?: number;
}

const REPORTS = "reports.json";
const FAILED = "failed.json";

export class Updater {
  private readonly dir: ReleaseDir | undefined;
  private busy: string | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly o: UpdaterOptions) {
    this.dir = o.settings.releasesDir ? new ReleaseDir(o.settings.releasesDir) : undefined;
  }

  /** Settles what the previous start left: a rollback to report, or a trial to watch. */
  start(): void {
    const dir = this.dir;
    if (!dir) return;
    const rolled = dir.takeRolledBack();
    if (rolled) this.fail(rolled.version, "rolled-back", rolled.reason);
    const trial = dir.trial();
    if (!trial) return;
    if (trial.version !== this.o.agentVersion) {
      // The launcher did not start the release on trial (its files are missing or a newer package is installed).
      dir.rollBack(trial, `the launcher started ${this.o.agentVersion}, not ${trial.version}`);
      const note = dir.takeRolledBack();
      if (note) this.fail(note.version, "rolled-back", note.reason);
      return;
    }
    this.o.logger.info({ version: trial.version, deadlineS: trial.deadlineS }, "new agent release on trial");
    this.deadline = setTimeout(() => {
      const still = dir.trial();
      if (!still || still.version !== this.o.agentVersion) return;
      const reason = `the new agent did not reach the cloud within ${still.deadlineS} s`;
      this.o.logger.error({ version: still.version }, `${reason}: switching back to ${still.previous}`);
      dir.rollBack(still, reason);
      this.o.restart(reason);
    }, trial.deadlineS * 1000);
    this.deadline.unref();
  }

  /** A new welcomed session: the trial (if any) succeeded; reports waiting for a session go out. */
  onSession(): void {
    const dir = this.dir;
    if (!dir) return;
    const trial = dir.trial();
    if (trial && trial.version === this.o.agentVersion) {
      clearTimeout(this.deadline);
      dir.endTrial();
      dir.prune([trial.version, trial.previous]);
      this.o.logger.info({ version: trial.version }, "new agent release healthy");
      this.queue(this.report(trial.version, "healthy", ""));
    }
    this.flush();
  }

  /** Handles a ReleaseOffer; never throws (problems are reported to the cloud and logged). */
  async offer(offer: ReleaseOffer): Promise<void> {
    if (this.stopped || offer.version === this.o.agentVersion || this.busy !== undefined) return; // one at a time
    // On trial the fallback is not proven yet: the next offer waits for the trial to end (the cloud offers again at the next Hello).
    if (this.dir?.trial()) return;
    this.busy = offer.version;
    try {
      const known = this.dir?.readJson<Record<string, UpdateReport>>(FAILED)?.[offer.version];
      if (known) {
        // Tried before and refused or rolled back: say so again rather than retry.
        this.queue(known);
        this.flush();
        return;
      }
      await this.install(offer);
    } catch (err) {
      const refused = err instanceof BvError && err.kind === "protocol";
      this.o.logger.error({ err, version: offer.version }, `agent update ${refused ? "refused" : "failed"}`);
      try {
        if (refused) this.fail(offer.version, "refused", errorMessage(err));
        else {
          this.queue(this.report(offer.version, "failed", errorMessage(err)));
          this.flush();
        }
      } catch (reportErr) {
        this.o.logger.error({ err: reportErr }, "could not record the update report");
      }
    } finally {
      this.busy = undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.deadline);
    this.abort.abort();
  }

  private async install(offer: ReleaseOffer): Promise<void> {
    const { settings } = this.o;
    const refuse = (message: string) => new BvError("UPDATE_REFUSED", "protocol", message);
    const dir = this.dir;
    if (!dir)
      throw new BvError(
        "UPDATE_UNSUPPORTED",
        "fatal",
        "this agent was not started by the bv-edge launcher (BV_EDGE_RELEASES_DIR is unset)",
      );
    if (!settings.publicKeyPem)
      throw refuse("this edge has no release key (it was claimed before releases were signed): claim it again to receive updates");
    if (offer.arch !== this.o.arch) throw refuse(`the release is for ${offer.arch}; this edge is ${this.o.arch}`);
    const facts = { version: offer.version, arch: offer.arch, size: offer.size, sha256: offer.sha256 };
    if (!verifyRelease(settings.publicKeyPem, facts, offer.signature))
      throw refuse("bad signature: the release is not signed by the release key this edge was claimed with");
    let url: URL;
    try {
      url = new URL(offer.url, settings.cloudUrl);
    } catch {
      throw refuse(`not a download URL: ${JSON.stringify(offer.url)}`);
    }
    if (url.origin !== new URL(settings.cloudUrl).origin)
      throw refuse(`the package is at ${url.origin}, not at the cloud this edge was claimed from (${new URL(settings.cloudUrl).origin})`);

    this.queue(this.report(offer.version, "downloading", ""));
    this.flush();
    const file = join(dir.downloads, `${offer.version}.deb.part`);
    const attempts = this.o.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        const got = await download({
          url,
          file,
          size: offer.size,
          edgeId: settings.edgeId,
          token: settings.token,
          caFile: settings.caFile,
          signal: this.abort.signal,
        });
        if (got.resumedFrom > 0) this.o.logger.info({ version: offer.version, resumedFrom: got.resumedFrom }, "download resumed");
        break;
      } catch (err) {
        if (attempt >= attempts || this.stopped || (err instanceof BvError && err.kind !== "transient")) throw err;
        this.o.logger.warn({ err, attempt }, "release download interrupted; resuming");
        await new Promise((r) => setTimeout(r, (this.o.retryMs ?? 2000) * attempt));
      }
    }
    const sha256 = await sha256Of(file);
    const { size } = statSync(file);
    if (size !== offer.size || sha256 !== offer.sha256.toLowerCase()) {
      rmSync(file, { force: true });
      throw refuse(`the package downloaded is not the one signed (size ${size}, sha256 ${sha256})`);
    }
    const previous = dir.current();
    await dir.install(offer.version, file);
    dir.startTrial({ version: offer.version, previous, deadlineS: offer.healthDeadlineS || 180 });
    dir.switchTo(offer.version);
    dir.prune([offer.version, previous]);
    this.o.logger.info({ version: offer.version, previous }, "agent release installed; restarting into it");
    this.queue(this.report(offer.version, "installed", ""));
    this.flush();
    this.o.restart(`switching to release ${offer.version}`);
  }

  private fail(version: string, state: "refused" | "rolled-back", error: string): void {
    const report = this.report(version, state, error);
    if (this.dir) {
      const failed = this.dir.readJson<Record<string, UpdateReport>>(FAILED) ?? {};
      failed[version] = report;
      this.dir.writeJson(FAILED, failed);
    }
    this.queue(report);
    this.flush();
  }

  private report(version: string, state: UpdateState, error: string): UpdateReport {
    return { version, state, error, runningVersion: this.o.agentVersion, timeMs: Date.now() };
  }

  /** Keeps the report until a session takes it (the latest per version; a few at most). */
  private queue(report: UpdateReport): void {
    if (!this.dir) {
      this.o.post(report);
      return;
    }
    const waiting = (this.dir.readJson<UpdateReport[]>(REPORTS) ?? []).filter((r) => r.version !== report.version);
    this.dir.writeJson(REPORTS, [...waiting, report].slice(-10));
  }

  private flush(): void {
    const dir = this.dir;
    if (!dir) return;
    const waiting = dir.readJson<UpdateReport[]>(REPORTS) ?? [];
    if (waiting.length === 0) return;
    const left = waiting.filter((r) => !this.o.post(r));
    dir.writeJson(REPORTS, left);
  }
}
