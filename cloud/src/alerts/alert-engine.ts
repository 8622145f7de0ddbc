/**
 * Evaluates the rules against events on the bus (readings, device and edge updates, gap
 * records) and a once-a-second tick for durations. Decisions are synchronous on in-memory
 * state, so a burst of readings costs a few map lookups; only state changes touch the
 * database, through one serial queue, and each change is published as `alertUpdated`.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@bitvelocity/common";
import { Counter, type Registry } from "prom-client";
import type { EventBus } from "../platform/event-bus.js";
import type { AlertView, DeviceSummary, EdgeStatusSnapshot, GapRecorded, ReadingsCommitted } from "../platform/events.js";
import type { AlertStore } from "./alert-store.js";
import { matchesDevice, type Rule } from "./rules.js";

/** What the engine needs to know at start about devices and edges (wired in main.ts). */
export interface AlertsDirectory {
  devices(): readonly Pick<DeviceSummary, "id" | "type" | "online">[];
  edges(): readonly { id: string; status: EdgeStatusSnapshot | null }[];
}

type Subject = { kind: "device" | "edge"; id: string };

export class AlertEngine {
  private rules: Rule[] = [];
  /** `${ruleId}|${subjectId}` → the open or acknowledged alert */
  private readonly open = new Map<string, AlertView>();
  /** Keys resolved by hand while their condition still held: no new alert until it clears. */
  private readonly suppressed = new Set<string>();
  /** Threshold keys whose value is beyond the line, and since when. */
  private readonly beyondSince = new Map<string, { since: number; value: number }>();
  private readonly devices = new Map<string, { type: string; online: boolean; offlineSince: number | null }>();
  private queue: Promise<void> = Promise.resolve();
  private readonly unsubscribers: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly fired: Counter | undefined;

  constructor(
    private readonly store: AlertStore,
    private readonly bus: EventBus,
    private readonly directory: AlertsDirectory,
    private readonly logger: Logger,
    registry?: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.fired = registry
      ? new Counter({
          name: "bv_cloud_alerts_fired_total",
          help: "Alerts fired, by rule kind",
          labelNames: ["kind"],
          registers: [registry],
        })
      : undefined;
  }

  async start(tickEveryMs = 1000): Promise<void> {
    this.rules = await this.store.rules();
    for (const a of await this.store.alerts({ state: "active", limit: 100_000 })) this.open.set(`${a.ruleId}|${a.subjectId}`, a);
    const now = this.now();
    for (const d of this.directory.devices())
      this.devices.set(d.id, { type: d.type, online: d.online, offlineSince: d.online ? null : now });
    this.unsubscribers.push(
      this.bus.on("readingsCommitted", (e) => this.onReadings(e)),
      this.bus.on("deviceUpdated", (d) => this.onDevice(d)),
      this.bus.on("edgeStatusReceived", (e) => this.onEdgeStatus(e.edgeId, e.status)),
      this.bus.on("gapRecorded", (g) => this.onGap(g)),
    );
    for (const e of this.directory.edges()) if (e.status) this.onEdgeStatus(e.id, e.status);
    if (tickEveryMs > 0) {
      this.timer = setInterval(() => this.tick(), tickEveryMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribers.splice(0)) off();
    if (this.timer) clearInterval(this.timer);
    await this.settled();
  }

  /** Resolves once every queued database write is done. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Replaces the rule set; alerts of rules that are gone or disabled are resolved by the system. */
  setRules(rules: Rule[]): void {
    this.rules = rules;
    const live = new Set(rules.filter((r) => r.enabled).map((r) => r.id));
    for (const [key, a] of this.open) {
      if (!live.has(a.ruleId)) this.close(key, { state: "resolved", resolvedBy: "system", message: `${a.message} (rule removed)` });
    }
    for (const key of [...this.beyondSince.keys(), ...this.suppressed]) {
      if (!live.has(key.split("|")[0]!)) {
        this.beyondSince.delete(key);
        this.suppressed.delete(key);
      }
    }
  }

  /** An operator acknowledged or resolved an alert (already validated by the service). */
  applyManual(updated: AlertView): void {
    const key = `${updated.ruleId}|${updated.subjectId}`;
    if (updated.state === "resolved") {
      if (this.open.get(key)?.id === updated.id) this.open.delete(key);
      // A gap is a one-off event; other conditions must clear before they may fire again.
      if (updated.active && updated.kind !== "gap_detected") this.suppressed.add(key);
    } else if (this.open.get(key)?.id === updated.id) {
      this.open.set(key, updated);
    }
    this.persist(updated);
  }

  openAlert(id: string): AlertView | undefined {
    for (const a of this.open.values()) if (a.id === id) return a;
    return undefined;
  }

  /** Duration checks: thresholds held long enough, devices offline long enough. */
  tick(now = this.now()): void {
    for (const rule of this.rules) {
      if (!rule.enabled) continue;
      if (rule.kind === "metric_threshold") {
        for (const [key, b] of this.beyondSince) {
          if (!key.startsWith(`${rule.id}|`)) continue;
          if (now - b.since >= rule.params.for_s * 1000)
            this.fire(rule, { kind: "device", id: key.slice(rule.id.length + 1) }, b.value, now);
        }
      } else if (rule.kind === "device_offline") {
        for (const [id, d] of this.devices) {
          if (d.online || d.offlineSince === null || !matchesDevice(rule.params, id, d.type)) continue;
          const secs = Math.floor((now - d.offlineSince) / 1000);
          if (secs >= rule.params.for_s) this.fire(rule, { kind: "device", id }, secs, now);
        }
      }
    }
  }

  private onReadings(e: ReadingsCommitted): void {
    // A replayed reading is history: it says nothing about the device now.
    if (e.replay) return;
    const now = this.now();
    for (const rule of this.rules) {
      if (!rule.enabled || rule.kind !== "metric_threshold") continue;
      const p = rule.params;
      for (const r of e.readings) {
        const v = r.values[p.metric];
        if (typeof v !== "number" || !matchesDevice(p, r.deviceId, r.deviceType)) continue;
        const key = `${rule.id}|${r.deviceId}`;
        const beyond = p.op === "above" ? v > p.threshold : v < p.threshold;
        const back = p.op === "above" ? v <= p.threshold - p.hysteresis : v >= p.threshold + p.hysteresis;
        if (beyond) {
          const b = this.beyondSince.get(key);
          this.beyondSince.set(key, { since: b?.since ?? now, value: v });
          if (now - (b?.since ?? now) >= p.for_s * 1000) this.fire(rule, { kind: "device", id: r.deviceId }, v, now);
        } else {
          this.beyondSince.delete(key);
          if (back) {
            this.suppressed.delete(key);
            if (this.open.has(key)) this.close(key, { clearedValue: v });
          }
        }
      }
    }
  }

  private onDevice(d: DeviceSummary): void {
    const prev = this.devices.get(d.id);
    // A summary a reading changed leaves the device's state as it was: nothing new to keep.
    if (!prev || prev.online !== d.online || prev.type !== d.type) {
      const offlineSince = d.online ? null : (prev?.offlineSince ?? this.now());
      this.devices.set(d.id, { type: d.type, online: d.online, offlineSince });
    }
    if (!d.online) return;
    for (const rule of this.rules) {
      if (rule.kind !== "device_offline") continue;
      const key = `${rule.id}|${d.id}`;
      this.suppressed.delete(key);
      if (this.open.has(key)) this.close(key, {});
    }
  }

  private onEdgeStatus(edgeId: string, s: EdgeStatusSnapshot): void {
    const now = this.now();
    for (const rule of this.rules) {
      if (!rule.enabled || rule.kind !== "outbox_backlog") continue;
      const p = rule.params;
      if (p.edge_id !== undefined && p.edge_id !== edgeId) continue;
      const key = `${rule.id}|${edgeId}`;
      const overCount = p.max_readings !== undefined && s.outboxReadings > p.max_readings;
      const overAge = p.max_age_s !== undefined && s.oldestAgeSeconds > p.max_age_s;
      if (overCount || overAge) {
        this.fire(rule, { kind: "edge", id: edgeId }, overCount ? s.outboxReadings : s.oldestAgeSeconds, now, s);
      } else {
        this.suppressed.delete(key);
        if (this.open.has(key)) this.close(key, {});
      }
    }
  }

  private onGap(g: GapRecorded): void {
    const now = this.now();
    for (const rule of this.rules) {
      if (!rule.enabled || rule.kind !== "gap_detected") continue;
      if (rule.params.edge_id !== undefined && rule.params.edge_id !== g.edgeId) continue;
      const key = `${rule.id}|${g.edgeId}`;
      const current = this.open.get(key);
      // count 0 = unknown (the edge lost a corrupt outbox file).
      const text = `seq ${g.firstSeq}–${g.lastSeq} (${g.count > 0 ? `${g.count} readings` : "unknown number of readings"}): ${g.reason}`;
      if (current) {
        // One open alert per edge and rule; later gaps add up on it.
        const total = (current.value ?? 0) + g.count;
        const updated = { ...current, value: total, message: `Gaps on ${g.edgeId}: ${total} readings lost; latest ${text}` };
        this.open.set(key, updated);
        this.persist(updated);
        continue;
      }
      this.fire(rule, { kind: "edge", id: g.edgeId }, g.count, now, undefined, `Gap on ${g.edgeId}: ${text}`);
    }
  }

  private fire(rule: Rule, subject: Subject, value: number, now: number, status?: EdgeStatusSnapshot, text?: string): void {
    const key = `${rule.id}|${subject.id}`;
    if (this.open.has(key) || this.suppressed.has(key)) return;
    const alert: AlertView = {
      id: randomUUID(),
      ruleId: rule.id,
      ruleName: rule.name,
      kind: rule.kind,
      severity: rule.severity,
      subjectKind: subject.kind,
      subjectId: subject.id,
      message: text ?? describe(rule, subject.id, value, status),
      value,
      state: "open",
      active: true,
      firedAt: now,
      clearedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolvedBy: null,
    };
    this.open.set(key, alert);
    this.fired?.inc({ kind: rule.kind });
    this.persist(alert);
  }

  /** The condition cleared (or the rule went away): the alert resolves itself. */
  private close(key: string, how: { clearedValue?: number; state?: "resolved"; resolvedBy?: string; message?: string }): void {
    const a = this.open.get(key);
    if (!a) return;
    this.open.delete(key);
    const now = this.now();
    const updated: AlertView = {
      ...a,
      active: false,
      clearedAt: now,
      state: "resolved",
      resolvedAt: now,
      resolvedBy: how.resolvedBy ?? "system",
      message: how.message ?? a.message,
    };
    this.persist(updated);
  }

  private persist(a: AlertView): void {
    this.queue = this.queue
      .then(() => this.store.saveAlert(a))
      .then(
        () => this.bus.emit("alertUpdated", a),
        (err: unknown) => this.logger.error({ err, alert: a.id }, "cannot store alert"),
      );
  }
}

function describe(rule: Rule, subject: string, value: number, status?: EdgeStatusSnapshot): string {
  switch (rule.kind) {
    case "metric_threshold": {
      const p = rule.params;
      const held = p.for_s > 0 ? ` for ${p.for_s} s` : "";
      return `${subject}: ${p.metric} ${value} is ${p.op} ${p.threshold}${held}`;
    }
    case "device_offline":
      return `${subject} offline for ${value} s`;
    case "outbox_backlog":
      return `${subject} outbox: ${status?.outboxReadings ?? "?"} readings, oldest ${Math.round(status?.oldestAgeSeconds ?? 0)} s`;
    case "gap_detected":
      return `Gap on ${subject}`;
  }
}
