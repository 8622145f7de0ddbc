import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configProblems, hashSecret } from "@bitvelocity/common";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadEdgeConfig } from "./config.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-edge-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const hash = hashSecret("s3cret");

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const problems = configProblems;

describe("loadEdgeConfig", () => {
  it("applies defaults and resolves relative paths against the config file", () => {
    const file = write("edge.yaml", `version: 1\nedge_id: edge-7\nuplink: { token: t }\n`);
    const config = loadEdgeConfig(file, {});
    expect(config).toMatchObject({
      edge_id: "edge-7",
      site_id: "default",
      data_dir: join(dir, "data/edge"),
      mqtt: { host: "0.0.0.0", port: 1883, ws_port: 8083 },
      http: { host: "0.0.0.0", port: 8081 },
      outbox: { commit_interval_ms: 10, max_pending: 5000 },
      devices: [],
      uplink: { url: "127.0.0.1:50051", token: "t" },
    });
  });

  it("takes BV_* environment overrides", () => {
    const file = write("edge.yaml", `edge_id: edge-1\nuplink: { token: t }\n`);
    const config = loadEdgeConfig(file, {
      BV_EDGE_ID: "edge-env",
      BV_MQTT_PORT: "0",
      BV_MQTT_WS_PORT: "1999",
      BV_EDGE_HTTP_PORT: "0",
      BV_DATA_DIR: "/var/lib/bv",
      BV_CLOUD_URL: "cloud:50051",
      BV_EDGE_TOKEN: "from-env",
    });
    expect(config).toMatchObject({
      edge_id: "edge-env",
      mqtt: { port: 0, ws_port: 1999 },
      http: { port: 0 },
      data_dir: "/var/lib/bv",
      uplink: { url: "cloud:50051", token: "from-env" },
    });
  });

  it("merges inline devices with the devices file and allows ws_port: null", () => {
    write("devices.yaml", `devices:\n  - { id: env-2, type: env-sensor, secret_hash: "${hash}" }\n`);
    const file = write(
      "edge.yaml",
      `edge_id: e\nmqtt: { ws_port: null }\ndevices_file: devices.yaml\ndevices:\n  - { id: env-1, type: env-sensor, name: Hall, secret_hash: "${hash}" }\nuplink: { token: t }\n`,
    );
    const config = loadEdgeConfig(file, {});
    expect(config.devices.map((d) => d.id)).toEqual(["env-1", "env-2"]);
    expect(config.mqtt.ws_port).toBe(null);
    expect(config.devices_file).toBe(join(dir, "devices.yaml"));
  });

  it("lists every problem at once, including those of the devices file", () => {
    write(
      "devices.yaml",
      `devices:\n  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }\n  - { id: "bad/id", type: toaster, secret_hash: plain }\n`,
    );
    const file = write(
      "edge.yaml",
      [
        "edge_id: edge-1",
        "mqtt: { port: 70000, colour: blue }",
        "outbox: { commit_interval_ms: -1 }",
        "devices_file: devices.yaml",
        "devices:",
        `  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }`,
        `  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }`,
        "uplink: {}",
        "extra: 1",
      ].join("\n"),
    );
    const list = problems(() => loadEdgeConfig(file, {}));
    const text = list.join("\n");
    expect(text).toMatch(/^mqtt\.port: /m);
    expect(text).toMatch(/^mqtt: .*colour/m);
    expect(text).toMatch(/^outbox\.commit_interval_ms: /m);
    expect(text).toMatch(/^devices\.1\.id: duplicate device id env-1/m);
    expect(text).toMatch(/^uplink\.token: /m);
    expect(text).toMatch(/^\(root\): .*extra/m);
    expect(text).toMatch(/devices\.yaml: devices\.1\.id: not a valid device id/);
    expect(text).toMatch(/devices\.yaml: devices\.1\.type: unknown device type "toaster"/);
    expect(text).toMatch(/devices\.yaml: devices\.1\.secret_hash: not a secret hash/);
  });

  it("has safe broker limits by default, takes mqtt.limits and mqtt.tls, resolves the TLS files", () => {
    const plain = loadEdgeConfig(write("a.yaml", `edge_id: e\nuplink: { token: t }\n`), {});
    expect(plain.mqtt.limits).toMatchObject({
      max_packet_size: 65_536,
      max_connections: 2000,
      max_inflight: 100,
      session_expiry_s: 86_400,
    });
    expect(plain.mqtt.tls).toBeUndefined();
    const file = write(
      "b.yaml",
      `edge_id: e\nuplink: { token: t }\nmqtt:\n  limits: { max_connections: 10, message_rate_per_s: 5 }\n  tls: { cert_file: c.pem, key_file: k.pem, ca_file: ca.pem, require_client_cert: true }\n`,
    );
    const config = loadEdgeConfig(file, {});
    expect(config.mqtt.limits).toMatchObject({ max_connections: 10, message_rate_per_s: 5, max_packet_size: 65_536 });
    expect(config.mqtt.tls).toEqual({
      port: 8883,
      cert_file: join(dir, "c.pem"),
      key_file: join(dir, "k.pem"),
      ca_file: join(dir, "ca.pem"),
      require_client_cert: true,
    });
  });

  it("lists every bad broker limit and TLS setting", () => {
    const file = write(
      "c.yaml",
      `edge_id: e\nuplink: { token: t }\nmqtt:\n  limits: { max_packet_size: 0, max_inflight: -1, allow_anonymous: true }\n  tls: { cert_file: c.pem, require_client_cert: true }\n`,
    );
    const text = problems(() => loadEdgeConfig(file, {})).join("\n");
    expect(text).toMatch(/^mqtt\.limits\.max_packet_size: /m);
    expect(text).toMatch(/^mqtt\.limits\.max_inflight: /m);
    expect(text).toMatch(/^mqtt\.limits: .*allow_anonymous/m);
    expect(text).toMatch(/^mqtt\.tls\.key_file: /m);
  });

  it("refuses a device id that is both inline and in the devices file", () => {
    write("devices.yaml", `devices:\n  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }\n`);
    const file = write(
      "edge.yaml",
      `edge_id: e\ndevices_file: devices.yaml\ndevices:\n  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }\nuplink: { token: t }\n`,
    );
    expect(problems(() => loadEdgeConfig(file, {})).join("\n")).toMatch(/env-1 is in both devices and/);
  });

  it("lists a type error and a duplicate device id together (inline + devices file, and inline twice)", () => {
    write("devices.yaml", `devices:\n  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }\n`);
    const file = write(
      "edge.yaml",
      `edge_id: e\nmqtt: { port: "not-a-port" }\ndevices_file: devices.yaml\ndevices:\n  - { id: env-1, type: env-sensor, secret_hash: "${hash}" }\n  - { id: env-3, type: env-sensor, secret_hash: "${hash}" }\n  - { id: env-3, type: toaster, secret_hash: "${hash}" }\nuplink: { token: t }\n`,
    );
    const listed = problems(() => loadEdgeConfig(file, {})).join("\n");
    expect(listed).toMatch(/^mqtt\.port: /m);
    expect(listed).toMatch(/env-1 is in both devices and/);
    expect(listed).toMatch(/^devices\.2\.id: duplicate device id env-3/m);
    expect(listed).toMatch(/^devices\.2\.type: unknown device type/m);
  });

  it("reports a missing edge_id, a missing devices file and unreadable YAML", () => {
    expect(problems(() => loadEdgeConfig(undefined, { BV_EDGE_TOKEN: "t" })).join("\n")).toMatch(/^edge_id: required/m);
    const file = write("edge.yaml", `edge_id: e\ndevices_file: nowhere.yaml\nuplink: { token: t }\n`);
    expect(problems(() => loadEdgeConfig(file, {})).join("\n")).toMatch(/nowhere\.yaml: cannot read/);
    const bad = write("bad.yaml", "edge_id: [unclosed\n");
    expect(problems(() => loadEdgeConfig(bad, {})).join("\n")).toMatch(/not valid YAML/);
  });
});

describe("config.example.yaml", () => {
  it("is valid once the token is given", () => {
    const file = join(import.meta.dirname, "../config.example.yaml");
    const config = loadEdgeConfig(file, { BV_EDGE_TOKEN: "t" });
    expect(config.devices.map((d) => [d.id, d.type])).toEqual([["env-0001", "env-sensor"]]);
    expect(config.data_dir).toBe(join(import.meta.dirname, "../data/edge"));
  });
});
