/** Rules and alerts in cloud.db (Kysely; the same queries run on PostgreSQL). */
import type { Kysely, Selectable } from "kysely";
import type { Database } from "../platform/database.js";
import type { AlertState, AlertView } from "../platform/events.js";
import { RULE_KINDS, type Rule, type RuleKind, SEVERITIES, type Severity } from "./rules.js";
import type { AlertTables } from "./tables.js";

export interface AlertQuery {
  /** "active" = open or acknowledged. */
  readonly state?: AlertState | "active" | undefined;
  readonly subject?: string | undefined;
  readonly limit?: number | undefined;
}

export class AlertStore {
  private readonly db: Kysely<AlertTables>;

  constructor(db: Database) {
    this.db = db.withTables<AlertTables>();
  }

  async rules(): Promise<Rule[]> {
    const rows = await this.db.selectFrom("alert_rules").selectAll().orderBy("created_at").orderBy("id").execute();
    return rows.map(toRule).filter((r) => r !== undefined);
  }

  async rule(id: string): Promise<Rule | undefined> {
    const row = await this.db.selectFrom("alert_rules").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toRule(row) : undefined;
  }

  async saveRule(rule: Rule): Promise<void> {
    const row = {
      name: rule.name,
      kind: rule.kind,
      severity: rule.severity,
      enabled: rule.enabled ? 1 : 0,
      params_json: JSON.stringify(rule.params),
      created_by: rule.createdBy,
      created_at: rule.createdAt,
      updated_at: rule.updatedAt,
    };
    await this.db
      .insertInto("alert_rules")
      .values({ id: rule.id, ...row })
      .onConflict((oc) => oc.column("id").doUpdateSet(row))
      .execute();
  }

  async deleteRule(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("alert_rules").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async saveAlert(a: AlertView): Promise<void> {
    const row = {
      rule_id: a.ruleId,
      rule_name: a.ruleName,
      kind: a.kind,
      severity: a.severity,
      subject_kind: a.subjectKind,
      subject_id: a.subjectId,
      message: a.message,
      value: a.value,
      state: a.state,
      active: a.active ? 1 : 0,
      fired_at: a.firedAt,
      cleared_at: a.clearedAt,
      acknowledged_at: a.acknowledgedAt,
      acknowledged_by: a.acknowledgedBy,
      resolved_at: a.resolvedAt,
      resolved_by: a.resolvedBy,
    };
    await this.db
      .insertInto("alerts")
      .values({ id: a.id, ...row })
      .onConflict((oc) => oc.column("id").doUpdateSet(row))
      .execute();
  }

  async alert(id: string): Promise<AlertView | undefined> {
    const row = await this.db.selectFrom("alerts").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toAlert(row) : undefined;
  }

  /** Newest first. */
  async alerts(query: AlertQuery = {}): Promise<AlertView[]> {
    let q = this.db
      .selectFrom("alerts")
      .selectAll()
      .orderBy("fired_at", "desc")
      .orderBy("id")
      .limit(query.limit ?? 200);
    if (query.state === "active") q = q.where("state", "in", ["open", "acknowledged"]);
    else if (query.state !== undefined) q = q.where("state", "=", query.state);
    if (query.subject !== undefined) q = q.where("subject_id", "=", query.subject);
    return (await q.execute()).map(toAlert);
  }
}

function toRule(row: Selectable<AlertTables["alert_rules"]>): Rule | undefined {
  if (!(RULE_KINDS as readonly string[]).includes(row.kind)) return undefined;
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as RuleKind,
    severity: ((SEVERITIES as readonly string[]).includes(row.severity) ? row.severity : "warning") as Severity,
    enabled: Number(row.enabled) === 1,
    params: JSON.parse(row.params_json),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  } as Rule;
}

function toAlert(row: Selectable<AlertTables["alerts"]>): AlertView {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id,
    ruleId: row.rule_id,
    ruleName: row.rule_name,
    kind: row.kind,
    severity: row.severity as AlertView["severity"],
    subjectKind: row.subject_kind === "edge" ? "edge" : "device",
    subjectId: row.subject_id,
    message: row.message,
    value: row.value === null ? null : Number(row.value),
    state: row.state as AlertState,
    active: Number(row.active) === 1,
    firedAt: Number(row.fired_at),
    clearedAt: n(row.cleared_at),
    acknowledgedAt: n(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: n(row.resolved_at),
    resolvedBy: row.resolved_by,
  };
}
