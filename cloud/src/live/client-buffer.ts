/**
 * What one browser is owed, buffered between flushes: readings in order (bounded: the oldest
 * are dropped past `maxBuffered`), device/edge/command summaries coalesced by id (only the
 * newest of each matters), and snapshots: the device lists of topics just subscribed to, shared
 * with every client that subscribed to the same topic within a second (written first).
 */
import type { AlertView, CommandView, DeviceSummary, EdgeSummary, Value } from "../platform/events.js";

export interface LiveReading {
  readonly deviceId: string;
  readonly seq: number;
  readonly ts: number;
  readonly values: Readonly<Record<string, Value>>;
  /** Set on SSE streams, which also say where the reading came from. */
  readonly edgeId?: string;
  readonly replay?: boolean;
}

export interface Drained {
  readonly readings: LiveReading[];
  /** Shared snapshot lists, to be written before `devices` (which are newer). */
  readonly snapshots: (readonly DeviceSummary[])[];
  readonly devices: DeviceSummary[];
  readonly edges: EdgeSummary[];
  readonly commands: CommandView[];
  readonly alerts: AlertView[];
}

export class ClientBuffer {
  private readings: LiveReading[] = [];
  private snapshots: (readonly DeviceSummary[])[] = [];
  private devices = new Map<string, DeviceSummary>();
  private edges = new Map<string, EdgeSummary>();
  private commands = new Map<string, CommandView>();
  private alerts = new Map<string, AlertView>();

  constructor(private readonly maxBuffered: number) {}

  /** Adds a reading; returns how many old readings were dropped to stay within the bound. */
  pushReading(r: LiveReading): number {
    this.readings.push(r);
    const excess = this.readings.length - this.maxBuffered;
    if (excess <= 0) return 0;
    this.readings.splice(0, excess);
    return excess;
  }

  pushDevice(d: DeviceSummary): void {
    this.devices.set(d.id, d);
  }

  /**
   * Adds a snapshot list (not copied: other clients share it). Summaries buffered before it of the
   * same devices are older than it and are dropped, so that writing the snapshot first and the
   * buffered summaries after it leaves every device at its newest.
   */
  pushSnapshot(devices: readonly DeviceSummary[]): void {
    if (devices.length === 0) return;
    if (this.devices.size > 0) for (const d of devices) this.devices.delete(d.id);
    this.snapshots.push(devices);
  }

  pushEdge(e: EdgeSummary): void {
    this.edges.set(e.id, e);
  }

  pushCommand(c: CommandView): void {
    this.commands.set(c.id, c);
  }

  pushAlert(a: AlertView): void {
    this.alerts.set(a.id, a);
  }

  get empty(): boolean {
    return (
      this.readings.length === 0 &&
      this.snapshots.length === 0 &&
      this.devices.size === 0 &&
      this.edges.size === 0 &&
      this.commands.size === 0 &&
      this.alerts.size === 0
    );
  }

  get bufferedReadings(): number {
    return this.readings.length;
  }

  drain(): Drained {
    const out = {
      readings: this.readings,
      snapshots: this.snapshots,
      devices: [...this.devices.values()],
      edges: [...this.edges.values()],
      commands: [...this.commands.values()],
      alerts: [...this.alerts.values()],
    };
    this.readings = [];
    this.snapshots = [];
    this.devices = new Map();
    this.edges = new Map();
    this.commands = new Map();
    this.alerts = new Map();
    return out;
  }
}
