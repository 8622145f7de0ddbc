/**
 * Alert rules: what to watch and when to fire. Four kinds:
 * - metric_threshold: a device metric beyond a threshold for `for_s` seconds; it clears only once
 *   the value is back past the threshold by `hysteresis` (so a value hovering at the line does
 *   not flap);
 * - device_offline: a device offline for `for_s` seconds;
 * - outbox_backlog: an edge outbox above `max_readings` readings or older than `max_age_s`;
 * - gap_detected: the edge reported a gap record (readings given up on).
 */
import { RuleBody as envelope, RuleParams as paramSchemas } from "@bitvelocity/api";
import { deviceType } from "@bitvelocity/devices";
import type { z } from "zod";
import { type Problem, ValidationError } from "../platform/errors.js";

export const RULE_KINDS = ["metric_threshold", "device_offline", "outbox_backlog", "gap_detected"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

// The rule's wire shape (`envelope`) and each kind's parameters are part of the API contract.
export type RuleParams = { [K in RuleKind]: z.output<(typeof paramSchemas)[K]> };

interface RuleBase {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}
export type Rule = { [K in RuleKind]: RuleBase & { readonly kind: K; readonly params: RuleParams[K] } }[RuleKind];

export interface RuleInput {
  readonly name: string;
  readonly kind: RuleKind;
  readonly severity: Severity;
  readonly enabled: boolean;
  readonly params: RuleParams[RuleKind];
}

function problemsOf(error: z.ZodError, prefix: string[] = []): Problem[] {
  return error.issues.map((i) => ({ path: [...prefix, ...i.path.map(String)].join(".") || "(root)", message: i.message }));
}

/** Validates a rule as sent to the API; throws ValidationError listing every problem. */
export function parseRule(body: unknown): RuleInput {
  const outer = envelope.safeParse(body);
  if (!outer.success) throw new ValidationError("invalid alert rule", problemsOf(outer.error));
  const { kind } = outer.data;
  const inner = paramSchemas[kind].safeParse(outer.data.params);
  if (!inner.success) throw new ValidationError("invalid alert rule", problemsOf(inner.error, ["params"]));
  const params = inner.data;
  if (kind === "metric_threshold") {
    const p = params as RuleParams["metric_threshold"];
    if (p.device_type !== undefined) {
      const type = deviceType(p.device_type);
      if (!type)
        throw new ValidationError("invalid alert rule", [{ path: "params.device_type", message: `unknown device type ${p.device_type}` }]);
      const metric = type.metrics.find((m) => m.name === p.metric);
      if (!metric)
        throw new ValidationError("invalid alert rule", [{ path: "params.metric", message: `${type.type} has no metric ${p.metric}` }]);
      if (metric.type !== "number" && metric.type !== "integer") {
        throw new ValidationError("invalid alert rule", [{ path: "params.metric", message: `${p.metric} is not numeric` }]);
      }
    }
  }
  if ((kind === "metric_threshold" || kind === "device_offline") && "device_type" in params && params.device_type !== undefined) {
    if (!deviceType(params.device_type)) {
      throw new ValidationError("invalid alert rule", [
        { path: "params.device_type", message: `unknown device type ${params.device_type}` },
      ]);
    }
  }
  return { name: outer.data.name, kind, severity: outer.data.severity, enabled: outer.data.enabled, params };
}

/** Whether a device-scoped rule applies to this device. */
export function matchesDevice(p: { device_type?: string | undefined; device_id?: string | undefined }, id: string, type: string): boolean {
  return (p.device_id === undefined || p.device_id === id) && (p.device_type === undefined || p.device_type === type);
}
