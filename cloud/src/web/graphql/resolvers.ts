/**
 * Resolvers: reads from the fleet read model, the telemetry store and the alert service; the two
 * mutations go through the same services, zod contract, role check and audit as the REST routes.
 */
import { SendCommandBody } from "@bitvelocity/api";
import { isBvError } from "@bitvelocity/common";
import { valueFromASTUntyped } from "graphql";
import type { SiteSummary } from "../../fleet/index.js";
import type { AlertView, DeviceSummary, EdgeSummary } from "../../platform/events.js";
import type { Resolution } from "../../telemetry/telemetry-store.js";
import type { GraphqlContext, GraphqlDeps } from "./deps.js";
import { pageSize, refuse, requireRole, service } from "./errors.js";
import { liveReadings } from "./live-readings.js";

export const PAGE_CAP = 500;
const HISTORY_CAP = 2000;
const READINGS_CAP = 1000;
const RESOLUTIONS: Record<string, Resolution> = { RAW: "raw", ONE_MINUTE: "1m", ONE_HOUR: "1h" };

type Args = Record<string, unknown>;

function page(devices: readonly DeviceSummary[], args: Args) {
  const first = pageSize(args.first ?? 100, PAGE_CAP);
  const after = typeof args.after === "string" ? args.after : undefined;
  const start = after === undefined ? 0 : devices.findIndex((d) => d.id > after);
  const nodes = start < 0 ? [] : devices.slice(start, start + first);
  const last = nodes.at(-1);
  return {
    nodes,
    totalCount: devices.length,
    endCursor: last?.id ?? null,
    hasNextPage: start >= 0 && start + first < devices.length,
  };
}

function optionalTime(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/** Scalar config as a plain object: graphql-tools applies it to the SDL's JSON scalar (no second copy of graphql's classes). */
const JSONScalar = {
  serialize: (v: unknown) => v,
  parseValue: (v: unknown) => v,
  parseLiteral: (ast: Parameters<typeof valueFromASTUntyped>[0], variables?: Record<string, unknown> | null) =>
    valueFromASTUntyped(ast, variables ?? undefined),
};

export function resolvers(deps: GraphqlDeps) {
  const siteSummary = (id: string): SiteSummary | undefined => deps.fleet.sites().find((s) => s.id === id);
  return {
    JSON: JSONScalar,
    Query: {
      viewer: (_: unknown, __: Args, ctx: GraphqlContext) => ({ username: ctx.user.username, role: ctx.user.role }),
      sites: () => deps.fleet.sites(),
      site: (_: unknown, args: Args) => siteSummary(String(args.id)) ?? null,
      edges: () => deps.fleet.edges(),
      edge: (_: unknown, args: Args) => deps.fleet.edge(String(args.id)) ?? null,
      devices: (_: unknown, args: Args) => {
        const filter = {
          site: args.site as string | undefined,
          edge: args.edge as string | undefined,
          type: args.type as string | undefined,
          q: args.q as string | undefined,
          state: args.online === true ? "online" : args.online === false ? "offline" : undefined,
        } as const;
        return page(deps.fleet.devices(filter), args);
      },
      device: (_: unknown, args: Args) => deps.fleet.device(String(args.id)) ?? null,
      alerts: (_: unknown, args: Args) => {
        const limit = pageSize(args.first ?? 100, PAGE_CAP);
        return service(() =>
          deps.alerts.alerts({
            state: (args.state as AlertView["state"] | "active" | null) ?? undefined,
            subject: (args.subject as string | null) ?? undefined,
            limit,
          }),
        );
      },
      alert: async (_: unknown, args: Args) => {
        try {
          return await deps.alerts.alert(String(args.id));
        } catch (err) {
          if (isBvError(err, "NOT_FOUND")) return null;
          throw err;
        }
      },
    },
    Site: {
      edges: (s: SiteSummary) => deps.fleet.edges().filter((e) => e.siteId === s.id),
      devices: (s: SiteSummary, args: Args, ctx: GraphqlContext) => page(ctx.loaders.devicesBy("siteId", s.id), args),
      deviceCount: (s: SiteSummary) => s.devices,
      onlineDevices: (s: SiteSummary) => s.online_devices,
    },
    Edge: {
      site: (e: EdgeSummary) => siteSummary(e.siteId),
      devices: (e: EdgeSummary, args: Args, ctx: GraphqlContext) => page(ctx.loaders.devicesBy("edgeId", e.id), args),
    },
    Device: {
      edge: (d: DeviceSummary) => deps.fleet.edge(d.edgeId),
      site: (d: DeviceSummary) => siteSummary(d.siteId),
      latest: (d: DeviceSummary) => Object.entries(d.latest).map(([metric, v]) => ({ metric, value: v.value, ts: v.ts })),
      history: (d: DeviceSummary, args: Args, ctx: GraphqlContext) => {
        const limit = pageSize(args.first ?? 500, HISTORY_CAP);
        const resolution = RESOLUTIONS[String(args.resolution ?? "RAW")] ?? "raw";
        ctx.loaders.telemetryRead();
        return service(() =>
          deps.telemetry.series(d.id, String(args.metric), { from: optionalTime(args.from), to: optionalTime(args.to), resolution, limit }),
        );
      },
      readings: (d: DeviceSummary, args: Args, ctx: GraphqlContext) => {
        const limit = pageSize(args.first ?? 100, READINGS_CAP);
        ctx.loaders.telemetryRead();
        return service(() => deps.telemetry.readings(d.id, { from: optionalTime(args.from), to: optionalTime(args.to), limit }));
      },
      activeAlerts: (d: DeviceSummary, _: Args, ctx: GraphqlContext) => ctx.loaders.activeAlerts.load(d.id),
    },
    Mutation: {
      sendCommand: async (_: unknown, args: Args, ctx: GraphqlContext) => {
        requireRole(ctx, "operator");
        const parsed = SendCommandBody.safeParse({ name: args.name, params: args.params ?? undefined, ttl_s: args.ttlS ?? undefined });
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message }));
          refuse("VALIDATION_FAILED", "invalid command", problems);
        }
        const body = parsed.data;
        const command = await service(() =>
          deps.commands.create({
            deviceId: String(args.deviceId),
            name: body.name,
            params: body.params,
            ttlS: body.ttl_s,
            requestedBy: ctx.user.username,
          }),
        );
        await deps.audit.record({
          actor: ctx.user.username,
          via: ctx.user.via,
          action: "command.send",
          target: command.deviceId,
          detail: { commandId: command.id, name: command.name, params: command.params, api: "graphql" },
        });
        return command;
      },
      acknowledgeAlert: async (_: unknown, args: Args, ctx: GraphqlContext) => {
        requireRole(ctx, "operator");
        const alert = await service(() => deps.alerts.acknowledge(String(args.id), ctx.user.username));
        await deps.audit.record({
          actor: ctx.user.username,
          via: ctx.user.via,
          action: "alert.acknowledge",
          target: alert.id,
          detail: { rule: alert.ruleName, subject: alert.subjectId, api: "graphql" },
        });
        return alert;
      },
    },
    Subscription: {
      deviceReadings: {
        subscribe: (_: unknown, args: Args) => {
          const id = String(args.deviceId);
          if (!deps.fleet.device(id)) refuse("NOT_FOUND", `unknown device ${JSON.stringify(id)}`);
          return liveReadings(deps.bus, id);
        },
      },
    },
  };
}
