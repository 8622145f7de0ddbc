/**
 * The A/B release directories the launcher (edge/deploy/bv-edge.sh) follows, all owned by the
 * service user under its state directory (no root at update time):
 *
 *   releases/<version>/usr/lib/bv-edge/…   an installed release (the .deb's data, extracted)
 *   releases/current -> <version>          what the launcher starts; absent: the packaged copy in /usr/lib/bv-edge
 *   releases/trial                         "version=…\nprevious=…\ndeadline_s=…\n" while a new release is on trial
 *   releases/trial-starts                  starts counted by the launcher during the trial
 *   releases/rolled-back                   "version=…\nreason=…\n" left by whoever switched back (launcher or agent)
 *   releases/.download/<version>.deb.part  a download in progress (resumed on retry)
 *
 * Files are replaced by rename and the symlink is switched by renaming a new link over it, so a
 * power cut leaves either the old or the new state, never half of one.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { BvError } from "@bitvelocity/common";

/** The packaged copy (/usr/lib/bv-edge), as `previous` names it. */
export const PACKAGED = "packaged";
const VERSION = /^[0-9][0-9A-Za-z.+~-]{0,63}$/;

export interface Trial {
  readonly version: string;
  /** A release directory name, or PACKAGED. */
  readonly previous: string;
  readonly deadlineS: number;
}

export interface RolledBack {
  readonly version: string;
  readonly reason: string;
}

export class ReleaseDir {
  constructor(readonly dir: string) {}

  get downloads(): string {
    return join(this.dir, ".download");
  }

  /** The release `current` points to, or PACKAGED. */
  current(): string {
    try {
      const target = readlinkSync(join(this.dir, "current"));
      return VERSION.test(target) ? target : PACKAGED;
    } catch {
      return PACKAGED;
    }
  }

  /** Extracts the package's data (dpkg-deb -x, as the service user) beside the running release. */
  async install(version: string, deb: string): Promise<void> {
    if (!VERSION.test(version)) throw new BvError("UPDATE_BAD_VERSION", "protocol", `not a release version: ${JSON.stringify(version)}`);
    const dest = join(this.dir, version);
    const tmp = join(this.dir, `.install-${version}`);
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    rmSync(tmp, { recursive: true, force: true });
    try {
      await promisify(execFile)("dpkg-deb", ["-x", deb, tmp], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      const detail = String((err as { stderr?: string }).stderr || (err as Error).message).trim();
      throw new BvError("UPDATE_EXTRACT_FAILED", "transient", `dpkg-deb -x failed: ${detail}`, { cause: err });
    }
    if (!existsSync(join(tmp, "usr/lib/bv-edge/dist/bin.js"))) {
      rmSync(tmp, { recursive: true, force: true });
      throw new BvError("UPDATE_NOT_AN_AGENT", "protocol", "the package has no usr/lib/bv-edge/dist/bin.js");
    }
    if (version === this.current()) throw new BvError("UPDATE_RUNNING", "protocol", `release ${version} is the one running`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  }

  /** Points `current` at the release (or removes it for the packaged copy), atomically. */
  switchTo(version: string): void {
    const link = join(this.dir, "current");
    if (version === PACKAGED || !existsSync(join(this.dir, version))) {
      rmSync(link, { force: true });
      return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const tmp = join(this.dir, ".current-new");
    rmSync(tmp, { force: true });
    symlinkSync(version, tmp);
    renameSync(tmp, link);
  }

  /** Removes every release but these (A/B: the running one and the one to fall back to) and old downloads. */
  prune(keep: readonly string[]): void {
    if (!existsSync(this.dir)) return;
    for (const name of readdirSync(this.dir)) {
      if (VERSION.test(name) && !keep.includes(name)) rmSync(join(this.dir, name), { recursive: true, force: true });
      if (name.startsWith(".install-")) rmSync(join(this.dir, name), { recursive: true, force: true });
    }
    if (existsSync(this.downloads))
      for (const name of readdirSync(this.downloads))
        if (!keep.some((v) => name === `${v}.deb.part`)) rmSync(join(this.downloads, name), { force: true });
  }

  trial(): Trial | undefined {
    const t = this.readKv("trial");
    if (!t?.version) return undefined;
    return { version: t.version, previous: t.previous || PACKAGED, deadlineS: Number(t.deadline_s) || 180 };
  }

  startTrial(t: Trial): void {
    rmSync(join(this.dir, "trial-starts"), { force: true });
    this.writeKv("trial", { version: t.version, previous: t.previous, deadline_s: String(t.deadlineS) });
  }

  endTrial(): void {
    rmSync(join(this.dir, "trial"), { force: true });
    rmSync(join(this.dir, "trial-starts"), { force: true });
  }

  /** Switches back to the trial's previous release and leaves the reason for the agent that starts next. */
  rollBack(t: Trial, reason: string): void {
    this.writeKv("rolled-back", { version: t.version, reason });
    this.switchTo(t.previous);
    this.endTrial();
  }

  /** The rollback note the launcher or an agent left, removed as it is read. */
  takeRolledBack(): RolledBack | undefined {
    const r = this.readKv("rolled-back");
    if (!r) return undefined;
    rmSync(join(this.dir, "rolled-back"), { force: true });
    return { version: r.version ?? "", reason: r.reason ?? "rolled back" };
  }

  readJson<T>(name: string): T | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, name), "utf8")) as T;
    } catch {
      return undefined;
    }
  }

  writeJson(name: string, value: unknown): void {
    this.replace(name, `${JSON.stringify(value)}\n`);
  }

  private readKv(name: string): Record<string, string> | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, name), "utf8");
    } catch {
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return out;
  }

  private writeKv(name: string, values: Record<string, string>): void {
    // One line per key: a newline inside a value (a reason) would start a new key.
    const lines = Object.entries(values).map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, " ")}\n`);
    this.replace(name, lines.join(""));
  }

  private replace(name: string, text: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text, { mode: 0o640 });
    renameSync(tmp, join(this.dir, name));
  }
}
