/** Alerts (everyone reads; operators acknowledge and resolve) and alert rules (admins edit). */
import { z } from "zod";
import { EpochMs, intQuery, NoContent, route } from "./common.js";

export const Severity = z.enum(["info", "warning", "critical"]);
export type Severity = z.infer<typeof Severity>;
export const AlertState = z.enum(["open", "acknowledged", "resolved"]);
export type AlertState = z.infer<typeof AlertState>;
export const RuleKind = z.enum(["metric_threshold", "device_offline", "outbox_backlog", "gap_detected"]);
export type RuleKind = z.infer<typeof RuleKind>;

export const Alert = z.object({
  id: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  kind: z.string(),
  severity: Severity,
  subjectKind: z.enum(["device", "edge"]),
  subjectId: z.string(),
  message: z.string(),
  value: z.number().nullable(),
  state: AlertState,
  /** Whether the condition still holds (a gap stays active until someone resolves it). */
  active: z.boolean(),
  firedAt: EpochMs,
  clearedAt: EpochMs.nullable(),
  acknowledgedAt: EpochMs.nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: EpochMs.nullable(),
  resolvedBy: z.string().nullable(),
});
export type Alert = z.infer<typeof Alert>;

const id = z.string().min(1).max(128);

/** The parameters of each rule kind (the server checks `params` against the one of its `kind`). */
export const RuleParams = {
  metric_threshold: z.strictObject({
    metric: z.string().min(1).max(64),
    op: z.enum(["above", "below"]),
    threshold: z.number().finite(),
    for_s: z.number().int().min(0).max(86_400).default(0),
    hysteresis: z.number().finite().min(0).default(0),
    device_type: id.optional(),
    device_id: id.optional(),
  }),
  device_offline: z.strictObject({
    for_s: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400),
    device_type: id.optional(),
    device_id: id.optional(),
  }),
  outbox_backlog: z
    .strictObject({
      max_readings: z.number().int().min(1).optional(),
      max_age_s: z.number().int().min(1).optional(),
      edge_id: id.optional(),
    })
    .refine((p) => p.max_readings !== undefined || p.max_age_s !== undefined, { message: "set max_readings, max_age_s or both" }),
  gap_detected: z.strictObject({ edge_id: id.optional() }),
} as const;

/** A rule as sent to create or replace one; `params` depends on `kind` (RuleParams). */
export const RuleBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  kind: RuleKind,
  severity: Severity.default("warning"),
  enabled: z.boolean().default(true),
  params: z.record(z.string(), z.unknown()).default({}),
});
export type RuleBody = z.input<typeof RuleBody>;

export const AlertRule = z.object({
  id: z.string(),
  name: z.string(),
  kind: RuleKind,
  severity: Severity,
  enabled: z.boolean(),
  params: z.record(z.string(), z.unknown()),
  createdBy: z.string(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});
export type AlertRule = z.infer<typeof AlertRule>;

/** `active` = open or acknowledged and still holding. */
export const AlertQuery = z.object({
  state: z.enum(["open", "acknowledged", "resolved", "active"]).optional(),
  subject: z.string().optional(),
  limit: intQuery(1, 1000).optional(),
});
export type AlertQuery = z.input<typeof AlertQuery>;

const AlertResponse = z.object({ alert: Alert });
const RuleResponse = z.object({ rule: AlertRule });

export const alertRoutes = {
  alerts: route({
    method: "get",
    path: "/api/alerts",
    summary: "Alerts, newest first (limit default 200)",
    query: AlertQuery,
    status: 200,
    response: z.object({ alerts: z.array(Alert) }),
  }),
  alert: route({ method: "get", path: "/api/alerts/:id", summary: "One alert", status: 200, response: AlertResponse }),
  ack: route({
    method: "post",
    path: "/api/alerts/:id/ack",
    summary: "Acknowledge an alert (operator)",
    role: "operator",
    status: 200,
    response: AlertResponse,
  }),
  resolve: route({
    method: "post",
    path: "/api/alerts/:id/resolve",
    summary: "Resolve an alert (operator)",
    role: "operator",
    status: 200,
    response: AlertResponse,
  }),
  rules: route({
    method: "get",
    path: "/api/alert-rules",
    summary: "Every alert rule",
    status: 200,
    response: z.object({ rules: z.array(AlertRule) }),
  }),
  rule: route({ method: "get", path: "/api/alert-rules/:id", summary: "One alert rule", status: 200, response: RuleResponse }),
  createRule: route({
    method: "post",
    path: "/api/alert-rules",
    summary: "Create an alert rule (admin)",
    role: "admin",
    body: RuleBody,
    status: 201,
    response: RuleResponse,
  }),
  updateRule: route({
    method: "put",
    path: "/api/alert-rules/:id",
    summary: "Replace an alert rule (admin)",
    role: "admin",
    body: RuleBody,
    status: 200,
    response: RuleResponse,
  }),
  deleteRule: route({
    method: "delete",
    path: "/api/alert-rules/:id",
    summary: "Delete an alert rule (admin)",
    role: "admin",
    status: 204,
    response: NoContent,
  }),
};
