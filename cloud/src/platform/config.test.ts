import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, configProblems } from "@bitvelocity/common";
import { afterAll, describe, expect, it } from "vitest";
import { loadCloudConfig } from "./config.js";

const dir = mkdtempSync(join(tmpdir(), "bv-cloud-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("loadCloudConfig", () => {
  it("fills every default from the schema", () => {
    const c = loadCloudConfig(undefined, {});
    // TLS unless insecure: with no certificate given, the development CA (platform/tls.ts).
    expect(c.http).toEqual({ host: "0.0.0.0", port: 8080, allowed_origins: [], insecure: false });
    expect(c.grpc).toEqual({ host: "0.0.0.0", port: 50051, insecure: false });
    expect(c.ingest).toEqual({
      credit: 4,
      max_batch_readings: 4000,
      max_batch_bytes: 1048576,
      keepalive_ms: 20_000,
      via: "direct",
      store_writer: false,
      undeclared_devices: "reject",
    });
    expect(c.live).toEqual({ throttle_ms: 250, max_buffered: 2000, redis_channel: "bv" });
    expect(c.database).toEqual({ engine: "sqlite", schema: "public", pool_size: 10 });
    expect(c.telemetry).toEqual({ engine: "sqlite" });
    expect(c.kafka).toBeUndefined();
    expect(c.bus).toEqual({ engine: "in-process", events_topic: "bv.events", relay_poll_ms: 1000 });
    expect(c.session_ttl_hours).toBe(12);
    expect(c.admin).toEqual({ username: "admin" });
    expect(c.data_dir).toBe(join(process.cwd(), "data/cloud"));
  });

  it("resolves data_dir against the config file and applies BV_* env over the file", () => {
    const path = file("ok.yaml", "version: 1\ndata_dir: ./store\nhttp: { port: 9000 }\nsites: [{ id: s1, name: S }]\n");
    const c = loadCloudConfig(path, { BV_HTTP_PORT: "9100", BV_GRPC_PORT: "0", BV_ADMIN_PASSWORD: "from-the-env" });
    expect(c.data_dir).toBe(join(dir, "store"));
    expect(c.http.port).toBe(9100);
    expect(c.grpc.port).toBe(0);
    expect(c.admin.password).toBe("from-the-env");
    expect(loadCloudConfig(path, { BV_DATA_DIR: "/var/lib/bv" }).data_dir).toBe("/var/lib/bv");
  });

  it("lists every problem at once", () => {
    const path = file(
      "bad.yaml",
      [
        "version: 2",
        "http: { port: 70000, colour: red }",
        "sites: [{ id: s1, name: S }]",
        "edges: [{ id: e1, site_id: nowhere, token_hash: plain }]",
        "users: [{ username: bob, role: king, password_hash: 'scrypt$x' }]",
        "ingest: { credit: 0 }",
        "typo_key: 1",
      ].join("\n"),
    );
    let error: unknown;
    try {
      loadCloudConfig(path, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).problems.map((p) => p.split(":")[0]);
    expect(paths).toEqual(
      expect.arrayContaining(["version", "http.port", "http", "edges.0.token_hash", "users.0.role", "ingest.credit", "(root)"]),
    );
    expect((error as ConfigError).code).toBe("CONFIG_INVALID");
  });

  it("reports an edge at an unknown site and duplicate ids", () => {
    expect(() =>
      loadCloudConfig(
        undefined,
        {},
        {
          sites: [
            { id: "s1", name: "A" },
            { id: "s1", name: "B" },
          ],
          edges: [{ id: "e1", site_id: "s2", token_hash: "sha256$1$aa$bb" }],
        },
      ),
    ).toThrow(/sites\.1\.id: duplicate site id s1[\s\S]*edges\.0\.site_id: unknown site s2/);
  });

  it("refuses a site name over 200 characters with the reason, before any table sees it", () => {
    const config = (name: string) => loadCloudConfig(undefined, {}, { sites: [{ id: "s1", name }] });
    expect(config("x".repeat(200)).sites[0]?.name).toHaveLength(200);
    expect(() => config("x".repeat(201))).toThrow(/sites\.0\.name: expected at most 200 characters/);
  });

  it("scopes a user to known sites only", () => {
    const config = (sites: string[]) =>
      loadCloudConfig(
        undefined,
        {},
        { sites: [{ id: "s1", name: "A" }], users: [{ username: "ann", role: "viewer", password_hash: "scrypt$x$y", sites }] },
      );
    expect(config(["s1"]).users[0]?.sites).toEqual(["s1"]);
    expect(() => config(["s1", "s9"])).toThrow(/users\.0\.sites\.1: unknown site s9/);
  });

  it("lists a type error and a duplicate user together, in one pass", () => {
    const hash = "scrypt$x$y";
    const problems = configProblems(() =>
      loadCloudConfig(
        undefined,
        {},
        {
          "http.port": "eighty",
          users: [
            { username: "ann", role: "viewer", password_hash: hash },
            { username: "ann", role: "admin", password_hash: hash },
          ],
          sites: [{ id: "s", name: "S" }],
          edges: [{ id: "e", site_id: "nowhere", token_hash: "plain" }],
        },
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^http\.port: /),
        "users.1.username: duplicate user ann",
        expect.stringMatching(/^edges\.0\.token_hash: /),
        "edges.0.site_id: unknown site nowhere",
      ]),
    );
  });

  it("lists every missing piece of an engine combination at once", () => {
    const problems = configProblems(() =>
      loadCloudConfig(
        undefined,
        {},
        {
          database: { engine: "postgres" },
          telemetry: { engine: "influx" },
          ingest: { via: "kafka", store_writer: true },
          live: { redis_url: "http://nope" },
          bus: { engine: "kafka" },
        },
      ),
    );
    expect(problems.map((p) => p.split(":")[0])).toEqual(
      expect.arrayContaining(["database.url", "telemetry.influx", "kafka", "live.redis_url"]),
    );
    expect(configProblems(() => loadCloudConfig(undefined, { BV_KAFKA_BROKERS: "a:1,nope" }, {}))).toEqual([
      expect.stringMatching(/^kafka\.brokers\.1: /),
    ]);
  });

  it("takes the scale-out engines from the environment", () => {
    const c = loadCloudConfig(
      undefined,
      { BV_DATABASE_URL: "postgres://bv:secret@db:5432/bv", BV_KAFKA_BROKERS: "k1:9092, k2:9092", BV_REDIS_URL: "redis://r:6379" },
      { "database.engine": "postgres", "ingest.via": "kafka" },
    );
    expect(c.database.url).toBe("postgres://bv:secret@db:5432/bv");
    expect(c.kafka?.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect(c.kafka?.telemetry_topic).toBe("bv.telemetry");
    expect(c.live.redis_url).toBe("redis://r:6379");
  });

  it("refuses a missing file and bad YAML clearly", () => {
    expect(() => loadCloudConfig(join(dir, "missing.yaml"), {})).toThrow(/cannot read/);
    expect(() => loadCloudConfig(file("broken.yaml", "http: [\n"), {})).toThrow(/not valid YAML/);
  });
});
