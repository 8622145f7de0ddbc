/**
 * Device ownership (DESIGN.md §3 promise 10: an edge reaches only its own devices). Each device
 * belongs to exactly one edge: the first edge that declares it (its Hello, or a reading when
 * `ingest.undeclared_devices` is auto-register) claims it, and only an admin moves it
 * (POST /api/devices/:id/move, audited). The claim is an INSERT that does nothing on conflict, so
 * two edges racing for one device — on one node or on several sharing PostgreSQL — yield one owner.
 *
 * Owners are cached in memory once read; a move on another cloud node is seen here after a restart
 * (moves are rare admin actions; see docs/security.md).
 */
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import type { FleetTables } from "./tables.js";

export interface DeviceClaim {
  /** The edge the device belongs to after the call. */
  readonly owner: string;
  /** True when this call made the claim. */
  readonly claimed: boolean;
}

export class DeviceOwners {
  private readonly db: Kysely<FleetTables>;
  private readonly owners = new Map<string, string>();

  constructor(db: Database) {
    this.db = db.withTables<FleetTables>();
  }

  /** The device's edge, from the cache or the database; undefined when no edge owns it. */
  async ownerOf(deviceId: string): Promise<string | undefined> {
    const cached = this.owners.get(deviceId);
    if (cached !== undefined) return cached;
    const row = await this.db.selectFrom("device_owners").select("edge_id").where("device_id", "=", deviceId).executeTakeFirst();
    if (row) this.owners.set(deviceId, row.edge_id);
    return row?.edge_id;
  }

  /** Claims the device for the edge unless another edge owns it; answers who owns it now. */
  async claim(deviceId: string, edgeId: string, how: string): Promise<DeviceClaim> {
    const known = await this.ownerOf(deviceId);
    if (known !== undefined) return { owner: known, claimed: false };
    const result = await this.db
      .insertInto("device_owners")
      .values({ device_id: deviceId, edge_id: edgeId, claimed_at: Date.now(), claimed_by: how })
      .onConflict((oc) => oc.column("device_id").doNothing())
      .executeTakeFirst();
    const claimed = Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    this.owners.delete(deviceId);
    return { owner: (await this.ownerOf(deviceId)) ?? edgeId, claimed };
  }

  /** Gives the device to another edge (an admin's explicit action); returns the previous owner. */
  async move(deviceId: string, edgeId: string, by: string): Promise<string | undefined> {
    const previous = await this.ownerOf(deviceId);
    const row = { edge_id: edgeId, claimed_at: Date.now(), claimed_by: `move:${by}` };
    await this.db
      .insertInto("device_owners")
      .values({ device_id: deviceId, ...row })
      .onConflict((oc) => oc.column("device_id").doUpdateSet(row))
      .execute();
    this.owners.set(deviceId, edgeId);
    return previous;
  }
}
