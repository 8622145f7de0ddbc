/** The configured devices, their types, and who is connected right now. */
import { type DeviceType, deviceType } from "@bitvelocity/devices";
import type { DeviceInfo, PresenceChange } from "../commands/device-gateway.js";
import type { DeviceConfig } from "../config.js";

interface Entry {
  readonly config: DeviceConfig;
  readonly type: DeviceType;
  online: boolean;
  lastSeenMs: number;
  /** The connection currently holding the device id (a takeover replaces it). */
  connection: unknown;
}

export class DeviceDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(change: PresenceChange) => void>();

  constructor(devices: readonly DeviceConfig[]) {
    for (const config of devices) {
      const type = deviceType(config.type);
      // The config schema already refused unknown types; skip rather than crash if one slips through.
      if (type) this.entries.set(config.id, { config, type, online: false, lastSeenMs: 0, connection: undefined });
    }
  }

  /**
   * The device list from now on (remote configuration, applied hot): new devices may connect,
   * changed ones authenticate with their new secret, and removed ones are returned so their
   * connections can be closed.
   */
  replace(devices: readonly DeviceConfig[]): unknown[] {
    const next = new Map<string, Entry>();
    for (const config of devices) {
      const type = deviceType(config.type);
      if (!type) continue;
      const old = this.entries.get(config.id);
      const keep = old && old.config.secret_hash === config.secret_hash && old.config.type === config.type;
      next.set(
        config.id,
        keep ? { ...old, config } : { config, type, online: false, lastSeenMs: old?.lastSeenMs ?? 0, connection: undefined },
      );
    }
    const dropped: unknown[] = [];
    for (const [id, old] of this.entries)
      if (old.connection !== undefined && next.get(id)?.connection !== old.connection) dropped.push(old.connection);
    this.entries.clear();
    for (const [id, e] of next) this.entries.set(id, e);
    return dropped;
  }

  get(deviceId: string): { readonly config: DeviceConfig; readonly type: DeviceType } | undefined {
    return this.entries.get(deviceId);
  }

  list(): DeviceInfo[] {
    return [...this.entries.values()].map((e) => ({
      deviceId: e.config.id,
      deviceType: e.config.type,
      name: e.config.name ?? e.config.id,
      online: e.online,
      lastSeenMs: e.lastSeenMs,
    }));
  }

  connected(deviceId: string, connection: unknown, timeMs: number): void {
    const entry = this.entries.get(deviceId);
    if (!entry) return;
    entry.connection = connection;
    entry.lastSeenMs = timeMs;
    entry.online = true;
    this.emit({ deviceId, online: true, timeMs, reason: "connected" });
  }

  disconnected(deviceId: string, connection: unknown, timeMs: number, reason: string): void {
    const entry = this.entries.get(deviceId);
    // A stale connection closing after a takeover does not make the device offline.
    if (!entry || entry.connection !== connection) return;
    entry.connection = undefined;
    entry.lastSeenMs = timeMs;
    entry.online = false;
    this.emit({ deviceId, online: false, timeMs, reason });
  }

  seen(deviceId: string, timeMs: number): void {
    const entry = this.entries.get(deviceId);
    if (entry) entry.lastSeenMs = timeMs;
  }

  onlineCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.online) n++;
    return n;
  }

  onPresence(listener: (change: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: PresenceChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // Listeners are isolated: one failing consumer must not break presence for the others.
      }
    }
  }
}
