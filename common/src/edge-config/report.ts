/**
 * Report strategies, per device and per point (metric): when a new value is worth a reading.
 * Shared by MQTT devices and connector devices (config `report:`).
 */
import { z } from "zod";

const strategy = z.enum(["always", "period", "on_change", "deadband", "on_change_or_heartbeat"]);

export const pointReportSchema = z
  .object({
    /** always: every value; period: at most one value per period_ms; on_change: when it differs;
     *  deadband: when it moved beyond the deadband; on_change_or_heartbeat: on change, or after heartbeat_ms without one. */
    strategy: strategy.default("always"),
    period_ms: z.number().int().min(1).optional(),
    deadband: z.number().min(0).optional(),
    deadband_mode: z.enum(["absolute", "percent"]).default("absolute"),
    heartbeat_ms: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.strategy === "period" && p.period_ms === undefined)
      ctx.addIssue({ code: "custom", path: ["period_ms"], message: "required for strategy period" });
    if (p.strategy === "deadband" && p.deadband === undefined)
      ctx.addIssue({ code: "custom", path: ["deadband"], message: "required for strategy deadband" });
    if (p.strategy === "on_change_or_heartbeat" && p.heartbeat_ms === undefined)
      ctx.addIssue({ code: "custom", path: ["heartbeat_ms"], message: "required for strategy on_change_or_heartbeat" });
    if (p.deadband_mode === "percent" && p.deadband !== undefined && p.deadband > 100)
      ctx.addIssue({ code: "custom", path: ["deadband"], message: "a percent deadband is at most 100" });
  });

export type PointReport = z.output<typeof pointReportSchema>;

/** The device-level policy: defaults for every point, overrides per metric name. */
export const deviceReportSchema = z
  .object({
    strategy: strategy.default("always"),
    period_ms: z.number().int().min(1).optional(),
    deadband: z.number().min(0).optional(),
    deadband_mode: z.enum(["absolute", "percent"]).default("absolute"),
    heartbeat_ms: z.number().int().min(1).optional(),
    points: z.record(z.string(), pointReportSchema).default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    const { points: _points, ...base } = p;
    const parsed = pointReportSchema.safeParse(base);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom", message: issue.message });
  });

export type DeviceReport = z.output<typeof deviceReportSchema>;
