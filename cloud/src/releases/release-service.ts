/**
 * Agent releases: publishing (store the package, sign its manifest), staged rollout, and offering
 * a release to the edges the rollout selects — when an edge connects (its Hello's agent version
 * and architecture) and when a rollout widens. Each edge's UpdateReport is kept; a version an
 * edge refused or rolled back is not offered to it again.
 */
import { randomUUID } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { EdgeUpdate, Release, Rollout, UpdateState } from "@bitvelocity/api";
import { errorMessage, signRelease } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import type { EventBus } from "../platform/event-bus.js";
import type { EdgeConnected, UpdateReported } from "../platform/events.js";
import { HttpError } from "../platform/http.js";
import type { Logger } from "../platform/logger.js";
import type { ReleasesTables } from "./migrations.js";
import { packageFields, receivePackage } from "./package-upload.js";
import type { ReleaseKey } from "./release-key.js";
import { selects } from "./rollout.js";

type ReleaseRow = ReleasesTables["agent_releases"];

/** Not offered again to that edge; "failed" (a download or extraction that did not work) is retried at its next Hello. */
const FAILED_STATES = new Set(["refused", "rolled-back"]);
const STATES = new Set<string>(["offered", "downloading", "refused", "installed", "healthy", "rolled-back", "failed"]);

export interface ReleaseServiceOptions {
  readonly db: Database;
  readonly bus: EventBus;
  readonly key: ReleaseKey;
  readonly dir: string;
  readonly defaultDeadlineS: number;
  readonly maxPackageBytes: number;
  readonly logger: Logger;
}

interface ConnectedEdge {
  readonly id: string;
  readonly siteId: string;
  readonly arch: string;
  readonly agentVersion: string;
}

export class ReleaseService {
  private readonly db: Kysely<ReleasesTables>;
  /** Edges connected to this node, as their Hello described them. */
  private readonly connected = new Map<string, ConnectedEdge>();

  constructor(private readonly options: ReleaseServiceOptions) {
    this.db = options.db.withTables<ReleasesTables>();
  }

  get publicKeyPem(): string {
    return this.options.key.publicKeyPem;
  }

  packagePath(id: string): string | undefined {
    return /^[0-9a-f]{32}$/.test(id) ? join(this.options.dir, `${id}.deb`) : undefined;
  }

  async publish(input: {
    body: Readable;
    version: string;
    arch: string;
    healthDeadlineS?: number | undefined;
    by: string;
  }): Promise<Release> {
    const exists = await this.db
      .selectFrom("agent_releases")
      .select("id")
      .where("version", "=", input.version)
      .where("arch", "=", input.arch)
      .executeTakeFirst();
    if (exists) throw new HttpError(409, "RELEASE_EXISTS", `release ${input.version} for ${input.arch} is already published`);
    const received = await receivePackage(input.body, this.options.dir, this.options.maxPackageBytes);
    try {
      const fields = await packageFields(received.path);
      if (fields && (fields.version !== input.version || fields.arch !== input.arch))
        throw new HttpError(
          400,
          "PACKAGE_MISMATCH",
          `the package is bv-edge ${fields.version} for ${fields.arch}, not ${input.version} for ${input.arch}`,
        );
      const id = randomUUID().replace(/-/g, "");
      const facts = { version: input.version, arch: input.arch, size: received.size, sha256: received.sha256 };
      const now = Date.now();
      const row: ReleaseRow = {
        id,
        ...facts,
        signature: signRelease(this.options.key.privateKey, facts).toString("base64"),
        health_deadline_s: input.healthDeadlineS ?? this.options.defaultDeadlineS,
        rollout_sites: "[]",
        rollout_percent: 0,
        created_by: input.by,
        created_at: now,
        updated_at: now,
      };
      await rename(received.path, join(this.options.dir, `${id}.deb`));
      await this.db.insertInto("agent_releases").values(row).execute();
      this.options.logger.info({ id, version: row.version, arch: row.arch, size: row.size }, "release published");
      return this.view(row);
    } finally {
      await rm(received.path, { force: true });
    }
  }

  async list(): Promise<Release[]> {
    const rows = await this.db.selectFrom("agent_releases").selectAll().orderBy("created_at", "desc").limit(200).execute();
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** Sets who gets the release and offers it to the connected edges it now selects; answers how many were offered it. */
  async rollout(id: string, rollout: Rollout): Promise<{ release: Release; offered: number }> {
    const taken = await this.db
      .updateTable("agent_releases")
      .set({ rollout_sites: JSON.stringify([...new Set(rollout.sites)]), rollout_percent: rollout.percent, updated_at: Date.now() })
      .where("id", "=", id)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) throw new HttpError(404, "NOT_FOUND", `no release ${JSON.stringify(id)}`);
    let offered = 0;
    for (const edge of this.connected.values()) if ((await this.offer(edge))?.id === id) offered++;
    const row = await this.db.selectFrom("agent_releases").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return { release: await this.view(row), offered };
  }

  async edgeUpdates(): Promise<EdgeUpdate[]> {
    const rows = await this.db.selectFrom("edge_updates").selectAll().orderBy("edge_id").execute();
    return rows.map((r) => ({
      edgeId: r.edge_id,
      siteId: r.site_id,
      arch: r.arch,
      runningVersion: r.running_version,
      version: r.version,
      state: r.state !== null && STATES.has(r.state) ? (r.state as UpdateState) : null,
      error: r.error,
      updatedAt: r.updated_at === null ? null : Number(r.updated_at),
    }));
  }

  /** An edge's Hello: remember it, record the version it runs, and offer what its rollout selects. */
  async onConnected(e: EdgeConnected): Promise<void> {
    const edge = { id: e.edgeId, siteId: e.siteId, arch: e.arch ?? "", agentVersion: e.agentVersion };
    this.connected.set(edge.id, edge);
    await this.db
      .insertInto("edge_updates")
      .values({
        edge_id: edge.id,
        site_id: edge.siteId,
        arch: edge.arch,
        running_version: edge.agentVersion,
        version: "",
        state: null,
        error: "",
        updated_at: null,
      })
      .onConflict((oc) => oc.column("edge_id").doUpdateSet({ site_id: edge.siteId, arch: edge.arch, running_version: edge.agentVersion }))
      .execute();
    await this.offer(edge);
  }

  onDisconnected(edgeId: string): void {
    this.connected.delete(edgeId);
  }

  async onReport(r: UpdateReported): Promise<void> {
    const state = STATES.has(r.state) ? r.state : "failed";
    const error = STATES.has(r.state) ? r.error : `unknown update state ${JSON.stringify(r.state)}: ${r.error}`;
    const edge = this.connected.get(r.edgeId);
    await this.db
      .insertInto("edge_updates")
      .values({
        edge_id: r.edgeId,
        site_id: edge?.siteId ?? "",
        arch: edge?.arch ?? "",
        running_version: r.runningVersion,
        version: r.version,
        state,
        error,
        updated_at: r.timeMs,
      })
      .onConflict((oc) =>
        oc.column("edge_id").doUpdateSet({ running_version: r.runningVersion, version: r.version, state, error, updated_at: r.timeMs }),
      )
      .execute();
    if (!FAILED_STATES.has(state) || !edge) return;
    const release = await this.db
      .selectFrom("agent_releases")
      .select("id")
      .where("version", "=", r.version)
      .where("arch", "=", edge.arch)
      .executeTakeFirst();
    if (!release) return;
    await this.db
      .insertInto("edge_update_failures")
      .values({ edge_id: r.edgeId, release_id: release.id, state, error, at: r.timeMs })
      .onConflict((oc) => oc.columns(["edge_id", "release_id"]).doUpdateSet({ state, error, at: r.timeMs }))
      .execute();
    this.options.logger.warn({ edgeId: r.edgeId, version: r.version, state, error }, "agent update did not take");
  }

  /** The newest release for the edge's architecture its rollout selects, unless the edge runs it or gave up on it. */
  async target(edge: ConnectedEdge): Promise<ReleaseRow | undefined> {
    if (!edge.arch) return undefined;
    const rows = await this.db
      .selectFrom("agent_releases")
      .selectAll()
      .where("arch", "=", edge.arch)
      .orderBy("created_at", "desc")
      .execute();
    const chosen = rows.find((r) =>
      selects({ sites: JSON.parse(r.rollout_sites) as string[], percent: Number(r.rollout_percent) }, r.id, edge),
    );
    if (!chosen || chosen.version === edge.agentVersion) return undefined;
    const failed = await this.db
      .selectFrom("edge_update_failures")
      .select("state")
      .where("edge_id", "=", edge.id)
      .where("release_id", "=", chosen.id)
      .executeTakeFirst();
    return failed ? undefined : chosen;
  }

  private async offer(edge: ConnectedEdge): Promise<ReleaseRow | undefined> {
    let release: ReleaseRow | undefined;
    try {
      release = await this.target(edge);
    } catch (err) {
      this.options.logger.error({ err, edgeId: edge.id }, `could not choose a release: ${errorMessage(err)}`);
      return undefined;
    }
    if (!release) return undefined;
    // "offered" only when the edge has said nothing yet about this version (a report is more precise).
    await this.db
      .updateTable("edge_updates")
      .set({ version: release.version, state: "offered", error: "", updated_at: Date.now() })
      .where("edge_id", "=", edge.id)
      .where("version", "!=", release.version)
      .execute();
    this.options.bus.emit("releaseOffered", {
      edgeId: edge.id,
      version: release.version,
      arch: release.arch,
      url: `/edge/releases/${release.id}/package`,
      size: Number(release.size),
      sha256: release.sha256,
      signature: release.signature,
      healthDeadlineS: Number(release.health_deadline_s),
    });
    return release;
  }

  private async view(r: ReleaseRow): Promise<Release> {
    const healthy = await this.db
      .selectFrom("edge_updates")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("version", "=", r.version)
      .where("arch", "=", r.arch)
      .where("state", "=", "healthy")
      .executeTakeFirst();
    const failed = await this.db
      .selectFrom("edge_update_failures")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("release_id", "=", r.id)
      .executeTakeFirst();
    return {
      id: r.id,
      version: r.version,
      arch: r.arch as Release["arch"],
      size: Number(r.size),
      sha256: r.sha256,
      signature: r.signature,
      healthDeadlineS: Number(r.health_deadline_s),
      rollout: { sites: JSON.parse(r.rollout_sites) as string[], percent: Number(r.rollout_percent) },
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      healthy: Number(healthy?.n ?? 0),
      failed: Number(failed?.n ?? 0),
    };
  }
}
