/** Report strategies per device; the schema is shared (common/src/edge-config/report.ts). */
export { type DeviceReport, deviceReportSchema, type PointReport, pointReportSchema } from "@bitvelocity/common/edge-config";
