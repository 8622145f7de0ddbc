/**
 * Remote configuration of edges (docs/edge-sync.md, config lane): versioned YAML documents, one
 * table row per version. A version is checked with the edge config schema the edge itself uses
 * (@bitvelocity/common/edge-config) before it is stored; it is sent to the edge through
 * `edgeConfigRequested` now if the edge is connected, else when it connects and its Hello says it
 * runs another version. The edge's ConfigReport moves the version to applied, rejected or
 * rolled-back. Secrets never leave here unmasked: views mask them, and a masked value saved back
 * keeps the stored one. Every save and every report is audited, a save with a diff of the masked
 * documents.
 */
import type { Logger } from "@bitvelocity/common";
import { maskSecrets, remoteDocumentProblems, unmaskSecrets } from "@bitvelocity/common/edge-config";
import type { Kysely, Selectable } from "kysely";
import type { AuditLog } from "../identity/audit-log.js";
import type { Database } from "../platform/database.js";
import type { EventBus } from "../platform/event-bus.js";
import type { EdgeConfigReported, EdgeConnected } from "../platform/events.js";
import { HttpError } from "../platform/http.js";
import { lineDiff } from "./config-diff.js";
import type { FleetTables } from "./tables.js";

export type EdgeConfigState = "pending" | "applied" | "rejected" | "rolled-back";

export interface EdgeConfigVersionView {
  readonly version: number;
  readonly author: string;
  readonly createdAt: number;
  readonly state: EdgeConfigState;
  readonly problems: readonly string[];
  readonly reportedAt: number | null;
  readonly restarted: boolean;
}

export interface EdgeConfigView {
  readonly edgeId: string;
  readonly latest: (EdgeConfigVersionView & { readonly yaml: string }) | null;
  readonly runningVersion: number | null;
  readonly versions: readonly EdgeConfigVersionView[];
}

type Row = Selectable<FleetTables["edge_configs"]>;

const STATES: readonly EdgeConfigState[] = ["pending", "applied", "rejected", "rolled-back"];
const HISTORY = 50;

function toVersion(row: Row): EdgeConfigVersionView {
  const problems: unknown = JSON.parse(row.problems_json);
  return {
    version: Number(row.version),
    author: row.author,
    createdAt: Number(row.created_at),
    state: STATES.find((s) => s === row.state) ?? "pending",
    problems: Array.isArray(problems) ? problems.map(String) : [],
    reportedAt: row.reported_at === null ? null : Number(row.reported_at),
    restarted: Number(row.restarted) === 1,
  };
}

/** `path: message` as the API's problems. */
function toProblem(p: string): { path: string; message: string } {
  const at = p.indexOf(": ");
  return at < 0 ? { path: "(document)", message: p } : { path: p.slice(0, at), message: p.slice(at + 2) };
}

function isUniqueViolation(err: unknown): boolean {
  const code: unknown = typeof err === "object" && err !== null ? Reflect.get(err, "code") : undefined;
  return code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
}

export class EdgeConfigs {
  private readonly db: Kysely<FleetTables>;
  /** What each edge last said it runs (Hello or ConfigReport), since this node started. */
  private readonly running = new Map<string, number>();
  private readonly offs: (() => void)[] = [];

  constructor(
    db: Database,
    private readonly bus: EventBus,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
  ) {
    this.db = db.withTables<FleetTables>();
  }

  start(): void {
    const guard = (what: string) => (err: unknown) => this.logger.error({ err }, `edge configuration: ${what} failed`);
    this.offs.push(
      this.bus.on("edgeConnected", (e) => {
        this.running.set(e.edgeId, e.configVersion ?? 0);
        // Only the node holding the edge's stream sends; a relayed copy would send twice.
        if (!this.bus.isRemote(e)) this.onConnected(e).catch(guard("sending the pending version"));
      }),
      this.bus.on("edgeConfigReported", (r) => {
        this.running.set(r.edgeId, r.runningVersion);
        if (!this.bus.isRemote(r)) this.onReport(r).catch(guard("recording a report"));
      }),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  async view(edgeId: string): Promise<EdgeConfigView> {
    const rows = await this.db
      .selectFrom("edge_configs")
      .selectAll()
      .where("edge_id", "=", edgeId)
      .orderBy("version", "desc")
      .limit(HISTORY)
      .execute();
    const head = rows[0];
    return {
      edgeId,
      latest: head ? { ...toVersion(head), yaml: maskSecrets(head.yaml) } : null,
      runningVersion: this.running.get(edgeId) ?? null,
      versions: rows.map(toVersion),
    };
  }

  /**
   * Checks and stores a new version, audits it with a diff and sends it. Refuses with 422 and every
   * problem, or 409 when `baseVersion` is not the latest (someone saved meanwhile).
   */
  async save(edgeId: string, edited: string, baseVersion: number | undefined, actor: { username: string; via: string }) {
    const head = await this.db
      .selectFrom("edge_configs")
      .selectAll()
      .where("edge_id", "=", edgeId)
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst();
    const latest = head ? Number(head.version) : 0;
    if (baseVersion !== undefined && baseVersion !== latest)
      throw new HttpError(409, "CONFLICT", `version ${latest} was saved after version ${baseVersion}; reload and edit again`);
    const { yaml, problems: maskProblems } = unmaskSecrets(edited, head?.yaml);
    const problems = [...maskProblems, ...remoteDocumentProblems(yaml, edgeId)];
    if (problems.length > 0)
      throw new HttpError(422, "CONFIG_INVALID", `the configuration has ${problems.length} problem(s)`, problems.map(toProblem));
    const row = {
      edge_id: edgeId,
      version: latest + 1,
      yaml,
      author: actor.username,
      created_at: Date.now(),
      state: "pending",
      problems_json: "[]",
      reported_at: null,
      restarted: 0,
    };
    try {
      await this.db.insertInto("edge_configs").values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new HttpError(409, "CONFLICT", `version ${row.version} was saved meanwhile; reload and edit again`);
      throw err;
    }
    const diff = lineDiff(head ? maskSecrets(head.yaml) : "", maskSecrets(yaml));
    await this.audit.record({
      actor: actor.username,
      via: actor.via,
      action: "edge.config.save",
      target: edgeId,
      detail: { version: row.version, previous: latest, diff },
    });
    this.bus.emit("edgeConfigRequested", { edgeId, version: row.version, yaml });
    return toVersion(row);
  }

  /** A connected edge that does not run the latest version gets it, while that version is pending. */
  private async onConnected(e: EdgeConnected): Promise<void> {
    const head = await this.db
      .selectFrom("edge_configs")
      .selectAll()
      .where("edge_id", "=", e.edgeId)
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst();
    if (head?.state !== "pending" || Number(head.version) === (e.configVersion ?? 0)) return;
    this.bus.emit("edgeConfigRequested", { edgeId: e.edgeId, version: Number(head.version), yaml: head.yaml });
  }

  private async onReport(r: EdgeConfigReported): Promise<void> {
    const row = await this.db
      .selectFrom("edge_configs")
      .selectAll()
      .where("edge_id", "=", r.edgeId)
      .where("version", "=", r.version)
      .executeTakeFirst();
    if (!row) {
      this.logger.warn({ edgeId: r.edgeId, version: r.version }, "config report for a version this cloud does not know");
      return;
    }
    const problemsJson = JSON.stringify(r.problems);
    // The edge re-sends its latest report at every session: only a change is recorded and audited.
    if (row.state === r.state && row.problems_json === problemsJson) return;
    await this.db
      .updateTable("edge_configs")
      .set({ state: r.state, problems_json: problemsJson, reported_at: r.receivedAtMs, restarted: r.restarted ? 1 : 0 })
      .where("edge_id", "=", r.edgeId)
      .where("version", "=", r.version)
      .execute();
    await this.audit.record({
      actor: `edge:${r.edgeId}`,
      via: "system",
      action: `edge.config.${r.state}`,
      target: r.edgeId,
      detail: { version: r.version, runningVersion: r.runningVersion, restarted: r.restarted, problems: r.problems },
    });
  }
}
