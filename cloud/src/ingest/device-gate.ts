/**
 * Which devices an edge may speak for (DESIGN.md §3 promise 10; docs/security.md). A device
 * belongs to one edge (the fleet's ownership, reached through the DeviceOwnership port):
 * - a Hello that lists a device of another edge: that device is left out of the handshake
 *   (the registry never moves it, commands keep going to its owner), counted and audited;
 * - a reading (or presence) for a device of another edge: refused with the owner named (the
 *   session dead-letters the reading, never stores it), counted and audited;
 * - a device no edge declared: `ingest.undeclared_devices` decides: `reject` refuses it like a
 *   foreign one (counted, not audited: a mis-configured edge is not an attack), `auto-register`
 *   gives it to the edge that reported it first.
 * Each refused edge+device pair is audited once per process, so a flood cannot flood the audit log.
 */
import type { Logger } from "@bitvelocity/common";
import type { AuditLog } from "../identity/audit-log.js";
import type { IngestMetrics } from "./ingest-metrics.js";
import type { DeviceOwnership } from "./ports.js";

export type UndeclaredPolicy = "reject" | "auto-register";
export type DeclaredVia = "hello" | "reading" | "presence";

const AUDITED_PAIRS_MAX = 10_000;

export class DeviceGate {
  private readonly audited = new Set<string>();

  constructor(
    private readonly ownership: DeviceOwnership,
    private readonly policy: UndeclaredPolicy,
    private readonly audit: AuditLog,
    private readonly metrics: Pick<IngestMetrics, "deviceRefusals" | "devicesRegistered">,
    private readonly logger: Logger,
  ) {}

  /** A Hello's devices: claims the unowned ones; answers the ids this edge owns (others are refused). */
  async declare(edgeId: string, deviceIds: readonly string[]): Promise<Set<string>> {
    const owned = new Set<string>();
    for (const deviceId of new Set(deviceIds)) {
      const { owner, claimed } = await this.ownership.claim(deviceId, edgeId, "hello");
      if (claimed) this.metrics.devicesRegistered.inc({ via: "hello" });
      if (owner === edgeId) owned.add(deviceId);
      else await this.refuseForeign(edgeId, deviceId, owner, "hello");
    }
    return owned;
  }

  /** Undefined when the edge may report the device; otherwise why not (for the dead letter). */
  async check(edgeId: string, deviceId: string, via: Exclude<DeclaredVia, "hello">): Promise<string | undefined> {
    const owner = await this.ownership.ownerOf(deviceId);
    if (owner === edgeId) return undefined;
    if (owner !== undefined) return this.refuseForeign(edgeId, deviceId, owner, via);
    if (this.policy === "reject") {
      this.metrics.deviceRefusals.inc({ reason: "undeclared", via });
      return `device ${JSON.stringify(deviceId)} was never declared: expected it in edge ${edgeId}'s Hello or assigned by an admin (ingest.undeclared_devices is reject)`;
    }
    const claim = await this.ownership.claim(deviceId, edgeId, `auto-register:${via}`);
    if (claim.owner !== edgeId) return this.refuseForeign(edgeId, deviceId, claim.owner, via);
    if (claim.claimed) this.metrics.devicesRegistered.inc({ via });
    return undefined;
  }

  private async refuseForeign(edgeId: string, deviceId: string, owner: string, via: DeclaredVia): Promise<string> {
    this.metrics.deviceRefusals.inc({ reason: "foreign", via });
    const key = `${edgeId}\u0000${deviceId}`;
    if (!this.audited.has(key)) {
      if (this.audited.size >= AUDITED_PAIRS_MAX) this.audited.clear();
      this.audited.add(key);
      this.logger.warn({ edgeId, deviceId, owner, via }, "edge refused: the device belongs to another edge");
      await this.audit.record({ actor: edgeId, via: "edge", action: "device.claim.refused", target: deviceId, detail: { owner, via } });
    }
    return `device ${JSON.stringify(deviceId)} belongs to edge ${owner}, not to ${edgeId}`;
  }
}
