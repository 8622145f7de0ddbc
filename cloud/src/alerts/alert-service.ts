/** What the API asks of alerts: rule CRUD (admins), the alert list, acknowledge and resolve. */
import { randomUUID } from "node:crypto";
import { BvError } from "@bitvelocity/common";
import { NotFoundError } from "../platform/errors.js";
import type { AlertView } from "../platform/events.js";
import type { AlertEngine } from "./alert-engine.js";
import type { AlertQuery, AlertStore } from "./alert-store.js";
import { parseRule, type Rule } from "./rules.js";

export class ConflictError extends BvError {
  constructor(message: string) {
    super("CONFLICT", "protocol", message);
  }
}

export class AlertService {
  constructor(
    private readonly store: AlertStore,
    private readonly engine: AlertEngine,
  ) {}

  rules(): Promise<Rule[]> {
    return this.store.rules();
  }

  async rule(id: string): Promise<Rule> {
    const rule = await this.store.rule(id);
    if (!rule) throw new NotFoundError("alert rule", id);
    return rule;
  }

  async createRule(body: unknown, by: string): Promise<Rule> {
    const input = parseRule(body);
    const now = Date.now();
    const rule = { id: randomUUID(), ...input, createdBy: by, createdAt: now, updatedAt: now } as Rule;
    await this.store.saveRule(rule);
    await this.reload();
    return rule;
  }

  async updateRule(id: string, body: unknown): Promise<Rule> {
    const existing = await this.rule(id);
    const input = parseRule(body);
    const rule = { ...existing, ...input, updatedAt: Date.now() } as Rule;
    await this.store.saveRule(rule);
    await this.reload();
    return rule;
  }

  async deleteRule(id: string): Promise<void> {
    if (!(await this.store.deleteRule(id))) throw new NotFoundError("alert rule", id);
    await this.reload();
  }

  alerts(query: AlertQuery): Promise<AlertView[]> {
    return this.store.alerts(query);
  }

  async alert(id: string): Promise<AlertView> {
    await this.engine.settled();
    const a = await this.store.alert(id);
    if (!a) throw new NotFoundError("alert", id);
    return a;
  }

  async acknowledge(id: string, by: string): Promise<AlertView> {
    const a = this.engine.openAlert(id) ?? (await this.alert(id));
    if (a.state === "resolved") throw new ConflictError(`alert ${id} is already resolved`);
    if (a.state === "acknowledged") return a;
    const updated: AlertView = { ...a, state: "acknowledged", acknowledgedAt: Date.now(), acknowledgedBy: by };
    this.engine.applyManual(updated);
    await this.engine.settled();
    return updated;
  }

  async resolve(id: string, by: string): Promise<AlertView> {
    const a = this.engine.openAlert(id) ?? (await this.alert(id));
    if (a.state === "resolved") throw new ConflictError(`alert ${id} is already resolved`);
    const now = Date.now();
    const updated: AlertView = {
      ...a,
      state: "resolved",
      resolvedAt: now,
      resolvedBy: by,
      acknowledgedAt: a.acknowledgedAt ?? now,
      acknowledgedBy: a.acknowledgedBy ?? by,
    };
    this.engine.applyManual(updated);
    await this.engine.settled();
    return updated;
  }

  private async reload(): Promise<void> {
    this.engine.setRules(await this.store.rules());
    await this.engine.settled();
  }
}
