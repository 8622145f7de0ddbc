/**
 * The remote configuration state, in one JSON file in the state directory
 * (`<data_dir>/remote-config.json`), replaced atomically (write, fsync, rename) so a power cut
 * leaves either the old state or the new one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BvError, ConfigError } from "@bitvelocity/common";
import { type ConfigDocument, parseConfigDocument } from "@bitvelocity/common/edge-config";

export interface StoredVersion {
  readonly version: number;
  readonly yaml: string;
}

/** A ConfigReport waiting to be sent (it is sent at every session until a newer one replaces it). */
export interface StoredReport {
  readonly version: number;
  readonly state: "applied" | "rejected" | "rolled-back";
  readonly problems: readonly string[];
  readonly runningVersion: number;
  readonly restarted: boolean;
  readonly timeMs: number;
}

export interface RemoteState {
  /** The version the agent runs; null: its file alone. */
  readonly running: StoredVersion | null;
  /** The last version the edge reached the cloud with; null: its file alone. */
  readonly lastGood: StoredVersion | null;
  /** Set while the running version has not yet reached the cloud: the rollback clock runs from `sinceMs`. */
  readonly trial: { readonly version: number; readonly sinceMs: number } | null;
  readonly report: StoredReport | null;
  /** Versions this edge rolled back (latest few): offered again, they are refused, not retried. */
  readonly rolledBack: readonly number[];
}

export const EMPTY_STATE: RemoteState = { running: null, lastGood: null, trial: null, report: null, rolledBack: [] };

export const STATE_FILE = "remote-config.json";

export class RemoteConfigStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, STATE_FILE);
    mkdirSync(dataDir, { recursive: true });
  }

  load(): RemoteState {
    if (!existsSync(this.path)) return EMPTY_STATE;
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      throw new BvError("REMOTE_CONFIG_STATE", "fatal", `cannot read ${this.path}`, { cause: err });
    }
    try {
      return { ...EMPTY_STATE, ...(JSON.parse(text) as Partial<RemoteState>) };
    } catch (err) {
      throw new BvError("REMOTE_CONFIG_STATE", "fatal", `${this.path} is not valid JSON (remove it to run on the file alone)`, {
        cause: err,
      });
    }
  }

  save(state: RemoteState): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(state, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}

/** A stored version's document (it was valid when stored; a ConfigError if the file now says otherwise). */
export function documentOf(v: StoredVersion): ConfigDocument {
  const parsed = parseConfigDocument(v.yaml);
  if ("problems" in parsed) throw new ConfigError(parsed.problems);
  return parsed.doc;
}
