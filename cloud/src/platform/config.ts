/**
 * bv-cloud configuration (DESIGN.md §7): one YAML file, `BV_*` environment overrides, one zod
 * schema that holds every default. Keys are snake_case; objects are strict so typos are reported.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { loadConfig } from "@bitvelocity/common";
import { z } from "zod";

const listener = (port: number) =>
  z.strictObject({
    host: z.string().min(1).default("0.0.0.0"),
    port: z.number().int().min(0).max(65535).default(port),
  });

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected 1-64 letters, digits, '.', '_' or '-'");

export const roleSchema = z.enum(["viewer", "operator", "admin"]);

export const cloudConfigSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    data_dir: z.string().min(1).default("./data/cloud"),
    http: listener(8080).default({ host: "0.0.0.0", port: 8080 }),
    grpc: listener(50051).default({ host: "0.0.0.0", port: 50051 }),
    sites: z.array(z.strictObject({ id, name: z.string().min(1) })).default([]),
    edges: z
      .array(
        z.strictObject({
          id,
          site_id: id,
          name: z.string().min(1).optional(),
          token_hash: z.string().regex(/^(sha256|scrypt)\$/, "expected a hash from hashSecret (sha256$… or scrypt$…)"),
        }),
      )
      .default([]),
    users: z
      .array(
        z.strictObject({
          username: id,
          role: roleSchema,
          password_hash: z.string().regex(/^(sha256|scrypt)\$/, "expected a hash from hashSecret (scrypt$…)"),
        }),
      )
      .default([]),
    admin: z
      .strictObject({ username: id.default("admin"), password: z.string().min(8, "must be at least 8 characters").optional() })
      .default({ username: "admin" }),
    ingest: z
      .strictObject({
        credit: z.number().int().min(1).max(1000).default(4),
        max_batch_readings: z.number().int().min(1).max(100_000).default(1000),
        max_batch_bytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** gRPC keepalive ping interval to each edge; an edge that vanished is noticed within about twice this. */
        keepalive_ms: z.number().int().min(1000).default(20_000),
      })
      .default({ credit: 4, max_batch_readings: 1000, max_batch_bytes: 1024 * 1024, keepalive_ms: 20_000 }),
    live: z
      .strictObject({
        throttle_ms: z.number().int().min(10).max(60_000).default(250),
        max_buffered: z.number().int().min(10).max(1_000_000).default(2000),
      })
      .default({ throttle_ms: 250, max_buffered: 2000 }),
    session_ttl_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(12),
  })
  .superRefine((cfg, ctx) => {
    const siteIds = new Set(cfg.sites.map((s) => s.id));
    const seen = new Set<string>();
    cfg.sites.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: "custom", path: ["sites", i, "id"], message: `duplicate site id ${s.id}` });
      seen.add(s.id);
    });
    const edgeIds = new Set<string>();
    cfg.edges.forEach((e, i) => {
      if (edgeIds.has(e.id)) ctx.addIssue({ code: "custom", path: ["edges", i, "id"], message: `duplicate edge id ${e.id}` });
      edgeIds.add(e.id);
      if (!siteIds.has(e.site_id)) ctx.addIssue({ code: "custom", path: ["edges", i, "site_id"], message: `unknown site ${e.site_id}` });
    });
    const users = new Set<string>();
    cfg.users.forEach((u, i) => {
      if (users.has(u.username)) ctx.addIssue({ code: "custom", path: ["users", i, "username"], message: `duplicate user ${u.username}` });
      users.add(u.username);
    });
  });

export type CloudConfig = z.output<typeof cloudConfigSchema>;
export type Role = z.output<typeof roleSchema>;

export const cloudEnvMap = {
  BV_HTTP_PORT: "http.port",
  BV_GRPC_PORT: "grpc.port",
  BV_DATA_DIR: "data_dir",
  BV_ADMIN_PASSWORD: "admin.password",
} as const;

/**
 * Loads and validates the config; throws ConfigError listing every problem. Relative paths
 * (data_dir) resolve against the config file's directory, or the working directory without one.
 */
export function loadCloudConfig(file?: string, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): CloudConfig {
  const config = loadConfig(cloudConfigSchema, { file, env, envMap: cloudEnvMap, overrides });
  const base = file ? dirname(resolve(file)) : process.cwd();
  return { ...config, data_dir: isAbsolute(config.data_dir) ? config.data_dir : resolve(base, config.data_dir) };
}
