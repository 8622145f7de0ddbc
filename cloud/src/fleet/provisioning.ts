/**
 * Device identities for purchased devices (commerce's devicesPurchased): one identity per unit on
 * the buyer's site, with a one-time claim code, "awaiting first connection" until a device claims
 * it. Written with its devicesProvisioned event in one transaction (outbox), idempotent per order:
 * a second delivery of the same purchase creates nothing. A revoked order's unclaimed identities
 * are removed (provisionedDevicesRevoked). Only the claim code's hash is kept here; the code itself
 * travels once, in the event, to the buyer's order.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database.js";
import { appendEvent, type OutboxRelay } from "../platform/event-outbox.js";
import type { DevicesPurchased, ProvisionedDevicesRevoked } from "../platform/events.js";

export type ProvisioningTables = {
  provisioned_devices: {
    id: string;
    site_id: string;
    type: string;
    order_id: string;
    claim_code_hash: string;
    created_at: number;
    claimed_at: number | null;
  };
};

export interface ProvisionedDevice {
  readonly id: string;
  readonly siteId: string;
  readonly type: string;
  readonly orderId: string;
  readonly createdAt: number;
  readonly claimed: boolean;
}

/** 10 characters of Crockford base32: easy to read out and type. */
function claimCode(): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  return [...randomBytes(10)].map((b) => alphabet[b % 32]).join("");
}

export class DeviceProvisioning {
  private readonly db: Kysely<ProvisioningTables>;

  constructor(
    db: Database,
    private readonly relay: Pick<OutboxRelay, "kick">,
    private readonly logger: Logger,
  ) {
    this.db = db.withTables<ProvisioningTables>();
  }

  async onPurchased(e: DevicesPurchased): Promise<void> {
    const now = Date.now();
    const created = await this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom("provisioned_devices").select("id").where("order_id", "=", e.orderId).executeTakeFirst();
      if (existing) return 0;
      const devices = e.devices.flatMap((d) =>
        Array.from({ length: d.quantity }, () => ({
          deviceId: `${d.deviceType}-${randomBytes(4).toString("hex")}`,
          deviceType: d.deviceType,
          claimCode: claimCode(),
        })),
      );
      if (devices.length === 0) return 0;
      await tx
        .insertInto("provisioned_devices")
        .values(
          devices.map((d) => ({
            id: d.deviceId,
            site_id: e.siteId,
            type: d.deviceType,
            order_id: e.orderId,
            claim_code_hash: createHash("sha256").update(d.claimCode).digest("hex"),
            created_at: now,
            claimed_at: null,
          })),
        )
        .execute();
      await appendEvent(tx, "devicesProvisioned", { orderId: e.orderId, siteId: e.siteId, devices });
      return devices.length;
    });
    if (created > 0) {
      this.relay.kick();
      this.logger.debug({ orderId: e.orderId, devices: created }, "devices provisioned");
    }
  }

  async onRevoked(e: ProvisionedDevicesRevoked): Promise<void> {
    await this.db.deleteFrom("provisioned_devices").where("order_id", "=", e.orderId).where("claimed_at", "is", null).execute();
  }

  async list(siteId?: string): Promise<ProvisionedDevice[]> {
    let q = this.db.selectFrom("provisioned_devices").selectAll().orderBy("created_at", "desc").orderBy("id").limit(1000);
    if (siteId) q = q.where("site_id", "=", siteId);
    return (await q.execute()).map((r) => ({
      id: r.id,
      siteId: r.site_id,
      type: r.type,
      orderId: r.order_id,
      createdAt: Number(r.created_at),
      claimed: r.claimed_at !== null,
    }));
  }
}
