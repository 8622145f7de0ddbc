/** Device presence towards the cloud: the Hello's device snapshot and live DevicePresence changes. */
import { ClockSync, type Hello } from "@bitvelocity/proto";
import type { DeviceGateway } from "../commands/device-gateway.js";
import { toProtoDeviceInfo } from "./grpc/convert.js";
import type { Link } from "./link.js";

export interface HelloSources {
  readonly edgeId: string;
  readonly token: string;
  readonly siteId: string;
  readonly bootId: string;
  readonly agentVersion: string;
  readonly clockSynced: () => boolean;
  /** The clock readings are stamped with: Hello's uptime must be on the same base as theirs. */
  readonly clock: { now(): number; uptimeMs(): number };
  readonly gateway: DeviceGateway;
  /** The remote configuration version this agent runs (0: its file only). */
  readonly configVersion?: () => number;
}

/** The package architecture of this agent, as the release list names it. */
export function packageArch(arch: string = process.arch): string {
  if (arch === "x64") return "amd64";
  if (arch === "arm") return "armhf";
  return arch;
}

export function buildHello(s: HelloSources): Hello {
  return {
    edgeId: s.edgeId,
    token: s.token,
    siteId: s.siteId,
    bootId: s.bootId,
    agentVersion: s.agentVersion,
    wallTimeMs: s.clock.now(),
    clockSync: s.clockSynced() ? ClockSync.CLOCK_SYNC_SYNCED : ClockSync.CLOCK_SYNC_UNSYNCED,
    uptimeMs: Math.max(0, Math.round(s.clock.uptimeMs())),
    devices: s.gateway.devices().map(toProtoDeviceInfo),
    configVersion: s.configVersion?.() ?? 0,
    arch: packageArch(),
  };
}

/** Forwards presence changes while connected (best effort: the next Hello carries the snapshot). */
export function forwardPresence(gateway: DeviceGateway, link: Link): () => void {
  return gateway.onPresence((change) => {
    link.post({
      kind: "presence",
      presence: { deviceId: change.deviceId, online: change.online, timeMs: change.timeMs, reason: change.reason },
    });
  });
}
