/**
 * The signed-in session's view of alerts: every open or acknowledged alert, loaded once and kept
 * current by the live `alert` events. The header badge, toasts, fleet ordering and the alerts
 * page all read it.
 */

import type { Alert } from "@bitvelocity/api";
import { api } from "./api.js";
import { live } from "./live.js";

type Listener = (alerts: Alert[], changed: Alert | null) => void;

class ActiveAlerts {
  private readonly byId = new Map<string, Alert>();
  private readonly listeners = new Set<Listener>();
  private readonly newListeners = new Set<(a: Alert) => void>();
  private offLive: (() => void) | null = null;

  start(): void {
    if (this.offLive) return;
    this.offLive = live.on("alert", (a) => this.apply(a));
    const offState = live.onState((s) => {
      if (s === "live") void this.reload();
    });
    const offAlert = this.offLive;
    this.offLive = () => {
      offAlert();
      offState();
    };
  }

  stop(): void {
    this.offLive?.();
    this.offLive = null;
    this.byId.clear();
  }

  async reload(): Promise<void> {
    try {
      const { alerts } = await api.alerts({ state: "active", limit: 1000 });
      this.byId.clear();
      for (const a of alerts) this.byId.set(a.id, a);
      this.notify(null);
    } catch {
      // The next reconnect or event brings it up to date.
    }
  }

  list(): Alert[] {
    return [...this.byId.values()].sort(compareAlerts);
  }

  forSubject(id: string): Alert[] {
    return this.list().filter((a) => a.subjectId === id);
  }

  /** Calls `fn` now and on every change; returns the unsubscribe function. */
  watch(fn: Listener): () => void {
    this.listeners.add(fn);
    fn(this.list(), null);
    return () => this.listeners.delete(fn);
  }

  /** Calls `fn` for each alert that fires while the page is open (for toasts). */
  onNew(fn: (a: Alert) => void): () => void {
    this.newListeners.add(fn);
    return () => this.newListeners.delete(fn);
  }

  private apply(a: Alert): void {
    const known = this.byId.has(a.id);
    if (a.state === "resolved") this.byId.delete(a.id);
    else this.byId.set(a.id, a);
    if (!known && a.state === "open") for (const fn of this.newListeners) fn(a);
    this.notify(a);
  }

  private notify(changed: Alert | null): void {
    const list = this.list();
    for (const fn of this.listeners) fn(list, changed);
  }
}

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

/** Unacknowledged first, then by severity, then newest. */
export function compareAlerts(a: Alert, b: Alert): number {
  return (
    Number(a.state !== "open") - Number(b.state !== "open") ||
    (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) ||
    b.firedAt - a.firedAt
  );
}

export const activeAlerts = new ActiveAlerts();
