/** What every connector's device entry has: an id, a catalog type, and how to report its points. */
import { deviceType, deviceTypeNames, isValidDeviceId } from "@bitvelocity/devices";
import { z } from "zod";
import { deviceReportSchema } from "./report.js";

export const connectorDeviceFields = {
  id: z.string().refine(isValidDeviceId, "not a valid device id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)"),
  type: z.string().refine((t) => deviceType(t) !== undefined, {
    error: (issue) => `unknown device type ${JSON.stringify(issue.input)} (known: ${deviceTypeNames().join(", ")})`,
  }),
  name: z.string().min(1).optional(),
  report: deviceReportSchema.optional(),
};

export const connectorIdSchema = z
  .string()
  .refine(isValidDeviceId, "not a valid connector id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");

/** Device ids are unique within a connector (across connectors and MQTT devices the edge config checks). */
export function uniqueDeviceIds(devices: readonly { id: string }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  devices.forEach((d, i) => {
    if (seen.has(d.id)) ctx.addIssue({ code: "custom", path: ["devices", i, "id"], message: `duplicate device id ${d.id}` });
    seen.add(d.id);
  });
}
