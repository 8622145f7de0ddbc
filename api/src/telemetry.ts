/** A device's readings and series, and its live stream as Server-Sent Events. */
import { z } from "zod";
import { EpochMs, intQuery, MAX_EPOCH_MS, route, Value } from "./common.js";

export const Reading = z.object({
  edgeId: z.string(),
  seq: z.number().int(),
  /** deviceTimeMs if the device stamped one, else edgeTimeMs. */
  ts: EpochMs,
  deviceTimeMs: EpochMs.nullable(),
  edgeTimeMs: EpochMs,
  receivedAt: EpochMs,
  values: z.record(z.string(), Value),
});
export type Reading = z.infer<typeof Reading>;

export const SeriesPoint = z.object({ ts: EpochMs, min: z.number(), max: z.number(), avg: z.number(), count: z.number().int() });
export type SeriesPoint = z.infer<typeof SeriesPoint>;

export const Resolution = z.enum(["raw", "1m", "1h"]);
export type Resolution = z.infer<typeof Resolution>;

/** `from` inclusive, `to` exclusive, ms since epoch. */
export const ReadingsQuery = z.object({
  from: intQuery(0, MAX_EPOCH_MS).optional(),
  to: intQuery(0, MAX_EPOCH_MS).optional(),
  limit: intQuery(1, 10_000).optional(),
});
export type ReadingsQuery = z.input<typeof ReadingsQuery>;

/** `metric` is required and must be one of the device type's metrics (checked by the server). */
export const SeriesQuery = z.object({
  metric: z.string("is required"),
  from: intQuery(0, MAX_EPOCH_MS).optional(),
  to: intQuery(0, MAX_EPOCH_MS).optional(),
  resolution: Resolution.optional(),
});
export type SeriesQuery = z.input<typeof SeriesQuery>;

export const telemetryRoutes = {
  readings: route({
    method: "get",
    path: "/api/devices/:id/readings",
    summary: "Readings of a device by time (limit default 1000)",
    query: ReadingsQuery,
    status: 200,
    response: z.object({ readings: z.array(Reading) }),
  }),
  series: route({
    method: "get",
    path: "/api/devices/:id/series",
    summary: "One metric bucketed by resolution (default raw)",
    query: SeriesQuery,
    status: 200,
    response: z.object({ points: z.array(SeriesPoint) }),
  }),
  stream: route({
    method: "get",
    path: "/api/devices/:id/stream",
    summary: "The device's readings as Server-Sent Events (`event: readings`, data = a Reading array)",
    status: 200,
    response: z.string(),
    contentType: "text/event-stream",
  }),
};
