/**
 * The fleet read model: sites (config), edges (config + link state), devices (learned from
 * Hello and from readings). Kept in memory, written behind to cloud.db: a device that is new or
 * changed (edge, type, name) and every changed edge within a second; a device whose readings only
 * moved its last-seen time and latest values within READINGS_FLUSH_TICKS seconds (at 10,000
 * devices at 1 Hz that is every device, every second: bench/RESULTS.md, "Live fan-out: reading-only
 * summaries", fleet write-back). The latest value of each metric is chosen by timestamp, never
 * by arrival: a replayed older reading never overwrites a newer value.
 */
import type { Logger } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import type { EventBus } from "../platform/event-bus.js";
import type { CommittedReading, DeviceSummary, EdgeConnected, EdgeSummary, ReadingsCommitted, Value } from "../platform/events.js";
import { PrecompiledInsert } from "../platform/precompiled.js";
import type { FleetTables } from "./tables.js";

export interface SiteDef {
  readonly id: string;
  readonly name: string;
}
export interface EdgeDef {
  readonly id: string;
  readonly siteId: string;
  readonly name: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function newEdge(e: EdgeDef): Mutable<EdgeSummary> {
  const state = { online: false, lastSeen: null, connectedAt: null, agentVersion: null, bootId: null, clockOffsetMs: null, status: null };
  return { id: e.id, siteId: e.siteId, name: e.name, ...state };
}
type DeviceState = Mutable<Omit<DeviceSummary, "latest">> & { latest: Record<string, { value: Value; ts: number }> };

export interface SiteSummary {
  readonly id: string;
  readonly name: string;
  readonly edges: number;
  readonly devices: number;
  readonly online_devices: number;
}

export interface DeviceFilter {
  readonly site?: string | undefined;
  readonly edge?: string | undefined;
  readonly type?: string | undefined;
  readonly q?: string | undefined;
  readonly state?: "online" | "offline" | undefined;
}

export class FleetRegistry {
  private readonly db: Kysely<FleetTables>;
  private readonly sitesById: Map<string, SiteDef>;
  private readonly edgesById = new Map<string, Mutable<EdgeSummary>>();
  private readonly devicesById = new Map<string, DeviceState>();
  private readonly dirtyDevices = new Set<string>();
  /** Devices whose readings changed only their last-seen time and latest values (written less often). */
  private readonly readDevices = new Set<string>();
  private ticks = 0;
  private readonly dirtyEdges = new Set<string>();
  private readonly unsubscribers: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    db: Database,
    private readonly bus: EventBus,
    sites: readonly SiteDef[],
    edges: readonly EdgeDef[],
    private readonly logger: Logger,
  ) {
    this.db = db.withTables<FleetTables>();
    this.sitesById = new Map(sites.map((s) => [s.id, s]));
    for (const e of edges) this.edgesById.set(e.id, newEdge(e));
  }

  /** An edge enrolled at run time (claimed through provisioning); a known id is left as it is. */
  addEdge(e: EdgeDef): void {
    if (this.edgesById.has(e.id)) return;
    const edge = newEdge(e);
    this.edgesById.set(e.id, edge);
    this.bus.emit("edgeUpdated", { ...edge });
  }

  async start(flushEveryMs = 1000): Promise<void> {
    for (const row of await this.db.selectFrom("edge_state").selectAll().execute()) {
      const edge = this.edgesById.get(row.id);
      if (!edge) continue;
      edge.lastSeen = row.last_seen === null ? null : Number(row.last_seen);
      edge.agentVersion = row.agent_version;
      edge.bootId = row.boot_id;
      edge.clockOffsetMs = row.clock_offset_ms === null ? null : Number(row.clock_offset_ms);
    }
    for (const row of await this.db.selectFrom("devices").selectAll().execute()) {
      this.devicesById.set(row.id, {
        id: row.id,
        edgeId: row.edge_id,
        siteId: row.site_id,
        type: row.type,
        name: row.name,
        online: false,
        lastSeen: row.last_seen === null ? null : Number(row.last_seen),
        latest: JSON.parse(row.latest_json) as DeviceState["latest"],
      });
    }
    this.unsubscribers.push(
      this.bus.on("edgeConnected", (e) => this.onEdgeConnected(e)),
      this.bus.on("edgeDisconnected", (e) => {
        const edge = this.edgesById.get(e.edgeId);
        if (!edge) return;
        Object.assign(edge, { online: false, lastSeen: e.at, connectedAt: null });
        this.touchEdge(edge);
        for (const d of this.devicesById.values()) {
          if (d.edgeId === e.edgeId && d.online) {
            d.online = false;
            this.touchDevice(d);
          }
        }
      }),
      this.bus.on("edgeStatusReceived", (e) => {
        const edge = this.edgesById.get(e.edgeId);
        if (!edge) return;
        Object.assign(edge, { status: e.status, lastSeen: Date.now() }, e.agentVersion ? { agentVersion: e.agentVersion } : {});
        this.touchEdge(edge);
      }),
      this.bus.on("devicePresenceChanged", (e) => {
        const d = this.devicesById.get(e.deviceId) ?? this.learn(e.deviceId, e.edgeId, "unknown", e.deviceId);
        if (!d) return;
        d.online = e.online;
        d.lastSeen = Math.max(d.lastSeen ?? 0, e.timeMs);
        this.touchDevice(d);
      }),
      this.bus.on("readingsCommitted", (e) => this.onReadings(e)),
    );
    this.flushTimer = setInterval(() => {
      const all = ++this.ticks % READINGS_FLUSH_TICKS === 0;
      this.write(all).catch((err: unknown) => this.logger.error({ err }, "fleet flush failed"));
    }, flushEveryMs);
    this.flushTimer.unref();
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribers.splice(0)) off();
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flush();
  }

  sites(): SiteSummary[] {
    return [...this.sitesById.values()].map((s) => {
      const devices = [...this.devicesById.values()].filter((d) => d.siteId === s.id);
      return {
        id: s.id,
        name: s.name,
        edges: [...this.edgesById.values()].filter((e) => e.siteId === s.id).length,
        devices: devices.length,
        online_devices: devices.filter((d) => d.online).length,
      };
    });
  }

  hasSite(id: string): boolean {
    return this.sitesById.has(id);
  }

  edges(): EdgeSummary[] {
    return [...this.edgesById.values()].map((e) => ({ ...e }));
  }

  edge(id: string): EdgeSummary | undefined {
    const e = this.edgesById.get(id);
    return e ? { ...e } : undefined;
  }

  devices(filter: DeviceFilter = {}): DeviceSummary[] {
    const q = filter.q?.toLowerCase();
    return [...this.devicesById.values()]
      .filter(
        (d) =>
          (filter.site === undefined || d.siteId === filter.site) &&
          (filter.edge === undefined || d.edgeId === filter.edge) &&
          (filter.type === undefined || d.type === filter.type) &&
          (filter.state === undefined || d.online === (filter.state === "online")) &&
          (q === undefined || d.id.toLowerCase().includes(q) || d.name.toLowerCase().includes(q)),
      )
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((d) => this.summary(d));
  }

  device(id: string): DeviceSummary | undefined {
    const d = this.devicesById.get(id);
    return d ? this.summary(d) : undefined;
  }

  private summary(d: DeviceState): DeviceSummary {
    return { ...d, latest: { ...d.latest } };
  }

  private onEdgeConnected(e: EdgeConnected): void {
    const edge = this.edgesById.get(e.edgeId);
    if (!edge) return;
    Object.assign(edge, {
      online: true,
      connectedAt: e.connectedAt,
      lastSeen: e.connectedAt,
      agentVersion: e.agentVersion,
      bootId: e.bootId,
      clockOffsetMs: e.clockOffsetMs,
    });
    this.touchEdge(edge);
    for (const info of e.devices) {
      const d = this.learn(info.deviceId, e.edgeId, info.deviceType, info.name);
      if (!d) continue;
      if (info.name) d.name = info.name;
      if (info.deviceType) d.type = info.deviceType;
      d.online = info.online;
      if (info.lastSeenMs > 0) d.lastSeen = Math.max(d.lastSeen ?? 0, info.lastSeenMs);
      this.touchDevice(d);
    }
  }

  private onReadings(e: ReadingsCommitted): void {
    /** The devices touched, and whether more than their readings changed (new, or a new type). */
    const touched = new Map<DeviceState, boolean>();
    const now = Date.now();
    for (const r of e.readings) {
      const known = this.devicesById.has(r.deviceId);
      const d = this.learn(r.deviceId, e.edgeId, r.deviceType, r.deviceId);
      if (!d) continue;
      let changed = !known || (touched.get(d) ?? false);
      if (d.type !== r.deviceType) {
        d.type = r.deviceType;
        changed = true;
      }
      this.applyLatest(d, r);
      d.lastSeen = Math.max(d.lastSeen ?? 0, e.replay ? r.ts : now);
      if (!e.replay) d.online = true;
      touched.set(d, changed);
    }
    for (const [d, changed] of touched) this.touchDevice(d, changed);
  }

  private applyLatest(d: DeviceState, r: CommittedReading): void {
    for (const [metric, value] of Object.entries(r.values)) {
      const current = d.latest[metric];
      if (!current || r.ts >= current.ts) d.latest[metric] = { value, ts: r.ts };
    }
  }

  /**
   * Finds or creates a device. A device stays on its edge: ingest passes on only what the device's
   * owner reports (fleet/device-owners.ts), and only `move` (an admin's action) changes the edge.
   */
  private learn(id: string, edgeId: string, type: string, name: string): DeviceState | undefined {
    const edge = this.edgesById.get(edgeId);
    if (!edge) return undefined;
    let d = this.devicesById.get(id);
    if (!d) {
      d = { id, edgeId, siteId: edge.siteId, type, name: name || id, online: false, lastSeen: null, latest: {} };
      this.devicesById.set(id, d);
    }
    return d.edgeId === edgeId ? d : undefined;
  }

  /** Shows the device under its new edge (after DeviceOwners.move); commands follow the registry. */
  moveDevice(id: string, edgeId: string): DeviceSummary | undefined {
    const edge = this.edgesById.get(edgeId);
    if (!edge) return undefined;
    let d = this.devicesById.get(id);
    if (!d) {
      d = { id, edgeId, siteId: edge.siteId, type: "unknown", name: id, online: false, lastSeen: null, latest: {} };
      this.devicesById.set(id, d);
    }
    Object.assign(d, { edgeId, siteId: edge.siteId, online: false });
    this.touchDevice(d);
    return this.summary(d);
  }

  /** Marks the device to be written back (`changed`: within a second; else with the readings' round) and tells the bus. */
  private touchDevice(d: DeviceState, changed = true): void {
    if (changed) {
      this.dirtyDevices.add(d.id);
      this.readDevices.delete(d.id);
    } else if (!this.dirtyDevices.has(d.id)) this.readDevices.add(d.id);
    this.bus.emit("deviceUpdated", this.summary(d));
  }

  private touchEdge(e: Mutable<EdgeSummary>): void {
    this.dirtyEdges.add(e.id);
    this.bus.emit("edgeUpdated", { ...e });
  }

  /** Writes every changed device and edge to cloud.db now (write-behind). */
  flush(): Promise<void> {
    return this.write(true);
  }

  /** Resolves when the write-back under way (if any) is done. */
  writing(): Promise<void> {
    return this.flushing;
  }

  /** Writes the changed edges and devices; `all`: also those whose readings alone changed them. */
  private write(all: boolean): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow(all));
    return this.flushing;
  }

  private async flushNow(all: boolean): Promise<void> {
    const ids = all ? [...this.dirtyDevices, ...this.readDevices] : [...this.dirtyDevices];
    const devices = ids.map((id) => this.devicesById.get(id)).filter((d) => d !== undefined);
    const edges = [...this.dirtyEdges].map((id) => this.edgesById.get(id)).filter((e) => e !== undefined);
    this.dirtyDevices.clear();
    if (all) this.readDevices.clear();
    this.dirtyEdges.clear();
    if (devices.length === 0 && edges.length === 0) return;
    // Multi-row upserts of FLUSH_ROWS, each its own transaction, one per event-loop turn: a fleet
    // of 10,000 devices at 1 Hz changes them all every second, and one built statement per device
    // in one transaction held the event loop (and live updates) for ~0.3 s per flush. Each row is
    // the whole state of its device; rows a failed statement did not write are dirty again.
    const edgeRows = edges.map((e) => [e.id, e.lastSeen, e.agentVersion, e.bootId, e.clockOffsetMs]);
    const deviceRows = devices.map((d) => [d.id, d.edgeId, d.siteId, d.type, d.name, d.lastSeen, JSON.stringify(d.latest)]);
    for (const [upsert, rows, dirty] of [
      [EDGE_STATE_UPSERT, edgeRows, this.dirtyEdges],
      [DEVICE_UPSERT, deviceRows, this.dirtyDevices],
    ] as const) {
      for (let at = 0; at < rows.length; at += FLUSH_ROWS) {
        if (at > 0) await new Promise((resolve) => setImmediate(resolve));
        try {
          await upsert.insert(this.db, rows.slice(at, at + FLUSH_ROWS));
        } catch (err) {
          for (const row of rows.slice(at)) dirty.add(row[0] as string);
          throw err;
        }
      }
    }
  }
}

/** Rows per upsert statement when the registry writes changed devices and edges back. */
const FLUSH_ROWS = 200;
/** Devices changed by readings alone are written back every this many flushes (seconds). */
const READINGS_FLUSH_TICKS = 10;
const upsert = (table: string, columns: readonly string[]) =>
  new PrecompiledInsert(
    `insert into "${table}" (${columns.map((c) => `"${c}"`).join(", ")})`,
    columns.length,
    ` on conflict ("id") do update set ${columns
      .slice(1)
      .map((c) => `"${c}" = excluded."${c}"`)
      .join(", ")}`,
  );
const DEVICE_UPSERT = upsert("devices", ["id", "edge_id", "site_id", "type", "name", "last_seen", "latest_json"]);
const EDGE_STATE_UPSERT = upsert("edge_state", ["id", "last_seen", "agent_version", "boot_id", "clock_offset_ms"]);
