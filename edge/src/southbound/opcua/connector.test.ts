/**
 * The OPC UA connector against the simulator's PLC server (node-opcua-server, a real peer),
 * restarted mid-test. The PKI directories are shared per test run: key creation is slow.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import { PlcServer } from "@bitvelocity/firmware-sim/opcua";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectorContract } from "../connector.contract.js";
import { BlackHoleProxy } from "../test-proxy.js";
import { RecordingSink, waitUntil } from "../test-support.js";
import { browseVariables } from "./browse.js";
import { opcuaPlugin } from "./index.js";
import { type OpcuaConfig, opcuaSchema } from "./schema.js";

const root = mkdtempSync(join(tmpdir(), "bv-opcua-"));
const serverPki = join(root, "server-pki");
const edgeDir = join(root, "edge");

function config(endpoint: string, extra: Record<string, unknown> = {}): OpcuaConfig {
  return opcuaSchema.parse({
    type: "opcua",
    id: "plc-link",
    endpoint,
    accept_unknown_server_certificate: true,
    sampling_interval_ms: 100,
    publishing_interval_ms: 100,
    watchdog_ms: 3000,
    reconnect_initial_ms: 100,
    reconnect_max_ms: 1000,
    devices: [{ id: "plc-1", type: "packaging-plc" }],
    ...extra,
  });
}

const context = () => ({ dataDir: edgeDir, registry: new Registry(), logger: silentLogger() });

connectorContract("opcua", async () => {
  const server = new PlcServer({ pkiDir: serverPki, secure: false, tickMs: 100 });
  const endpoint = await server.start();
  const connector = await opcuaPlugin.create(config(endpoint), context());
  return {
    connector,
    deviceId: "plc-1",
    command: { name: "set_speed", params: { speed: 222 } },
    restartPeer: () => server.restart(),
    close: () => server.stop(),
  };
});

describe("opcua connector recovery", () => {
  let server: PlcServer;

  beforeAll(async () => {
    server = new PlcServer({ pkiDir: serverPki, tickMs: 100 });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ["None", "None"],
    ["SignAndEncrypt", "Basic256Sha256"],
  ])(
    "values flow again within 10 s after each of 10 server restarts (%s)",
    async (mode, policy) => {
      const sink = new RecordingSink();
      const connector = await opcuaPlugin.create(config(server.endpoint, { security_mode: mode, security_policy: policy }), context());
      const abort = new AbortController();
      await connector.start(sink, abort.signal);
      try {
        await waitUntil("first values", () => sink.count("plc-1") > 0, 20_000);
        const recovery: number[] = [];
        for (let i = 0; i < 10; i++) {
          await server.restart();
          const since = Date.now();
          recovery.push(await waitUntil(`values after restart ${i + 1}`, () => sink.count("plc-1", since) > 0, 10_000));
        }
        expect(recovery.every((ms) => ms < 10_000)).toBe(true);
        expect(connector.status().connected).toBe(true);
      } finally {
        abort.abort();
        await connector.stop();
      }
    },
    120_000,
  );

  it("rebuilds the session after the network silently drops (watchdog), values flow again", async () => {
    const url = new URL(server.endpoint.replace("opc.tcp:", "http:"));
    const proxy = new BlackHoleProxy("127.0.0.1", Number(url.port));
    const port = await proxy.listen();
    const sink = new RecordingSink();
    // The endpoint through the proxy; the server advertises its own address, which endpointMustExist: false allows.
    const connector = await opcuaPlugin.create(config(`opc.tcp://127.0.0.1:${port}${url.pathname}`), context());
    const abort = new AbortController();
    await connector.start(sink, abort.signal);
    try {
      await waitUntil("first values", () => sink.count("plc-1") > 0, 20_000);
      proxy.blackHole();
      await waitUntil("the watchdog noticed", () => !connector.status().connected, 10_000);
      proxy.restore();
      const since = Date.now();
      await waitUntil("values after the network is back", () => sink.count("plc-1", since) > 0, 15_000);
    } finally {
      abort.abort();
      await connector.stop();
      await proxy.close();
    }
  }, 60_000);

  it("applies the DataChangeFilter deadband on the server (absolute and percent of EURange)", async () => {
    const sink = new RecordingSink();
    const connector = await opcuaPlugin.create(
      config(server.endpoint, {
        devices: [
          {
            id: "plc-1",
            type: "packaging-plc",
            nodes: [
              { metric: "sealer_temperature", node_id: "ns=1;s=Sealer.Temperature", deadband: { type: "absolute", value: 40 } },
              { metric: "motor_current", node_id: "ns=1;s=Drive.Current", deadband: { type: "percent", value: 20 } },
              { metric: "speed", node_id: "ns=1;s=Line.Speed" },
            ],
          },
        ],
      }),
      context(),
    );
    const abort = new AbortController();
    await connector.start(sink, abort.signal);
    try {
      await waitUntil("speed changes", () => sink.readings.filter((r) => "speed" in r.values).length >= 8, 20_000);
      const changes = (m: string) => sink.readings.filter((r) => m in r.values).length;
      // Sealer noise (±0.4 °C) and current noise stay inside the bands: only the initial value arrives.
      expect(changes("sealer_temperature")).toBe(1);
      expect(changes("motor_current")).toBe(1);
    } finally {
      abort.abort();
      await connector.stop();
    }
  }, 60_000);

  it("an unknown node is a clear error while the known ones still flow", async () => {
    const sink = new RecordingSink();
    const connector = await opcuaPlugin.create(
      config(server.endpoint, {
        devices: [
          {
            id: "plc-1",
            type: "packaging-plc",
            nodes: [
              { metric: "speed", node_id: "ns=1;s=Line.Speed" },
              { metric: "motor_current", node_id: "ns=1;s=Drive.NoSuchNode" },
            ],
          },
        ],
      }),
      context(),
    );
    const abort = new AbortController();
    await connector.start(sink, abort.signal);
    try {
      await waitUntil("speed values", () => sink.latest("plc-1", "speed") !== undefined, 20_000);
      expect(connector.status().lastError).toBe("OPCUA_NODE_UNKNOWN");
      expect(sink.latest("plc-1", "motor_current")).toBe(undefined);
    } finally {
      abort.abort();
      await connector.stop();
    }
  }, 60_000);

  it("an untrusted server certificate is refused with OPCUA_CERT_UNTRUSTED and where to trust it", async () => {
    const sink = new RecordingSink();
    const strictDir = mkdtempSync(join(tmpdir(), "bv-opcua-strict-"));
    const connector = await opcuaPlugin.create(
      config(server.endpoint, {
        security_mode: "SignAndEncrypt",
        security_policy: "Basic256Sha256",
        accept_unknown_server_certificate: false,
      }),
      { dataDir: strictDir, registry: new Registry(), logger: silentLogger() },
    );
    const abort = new AbortController();
    await connector.start(sink, abort.signal);
    try {
      await waitUntil("the refusal", () => connector.status().lastError !== undefined, 20_000);
      expect(connector.status().lastError).toBe("OPCUA_CERT_UNTRUSTED");
      expect(sink.count()).toBe(0);
    } finally {
      abort.abort();
      await connector.stop();
    }
  }, 60_000);

  it("logs in with user and password from the environment; a wrong password is OPCUA_AUTH_FAILED", async () => {
    const guarded = new PlcServer({
      pkiDir: serverPki,
      tickMs: 100,
      allowAnonymous: false,
      users: [{ username: "edge", password: "s3cret" }],
    });
    await guarded.start();
    process.env.BV_TEST_OPCUA_GOOD = "s3cret";
    process.env.BV_TEST_OPCUA_BAD = "nope";
    const run = async (passwordEnv: string) => {
      const sink = new RecordingSink();
      const connector = await opcuaPlugin.create(
        config(guarded.endpoint, {
          security_mode: "SignAndEncrypt",
          security_policy: "Basic256Sha256",
          auth: { type: "username", username: "edge", password_env: passwordEnv },
        }),
        context(),
      );
      const abort = new AbortController();
      await connector.start(sink, abort.signal);
      return { sink, connector, abort };
    };
    const good = await run("BV_TEST_OPCUA_GOOD");
    const bad = await run("BV_TEST_OPCUA_BAD");
    try {
      await waitUntil("values with the right password", () => good.sink.count("plc-1") > 0, 20_000);
      await waitUntil("the refusal", () => bad.connector.status().lastError !== undefined, 20_000);
      expect(bad.connector.status().lastError).toBe("OPCUA_AUTH_FAILED");
      expect(bad.sink.count()).toBe(0);
    } finally {
      for (const r of [good, bad]) {
        r.abort.abort();
        await r.connector.stop();
      }
      await guarded.stop();
    }
  }, 60_000);

  it("browse lists the server's variables with their data types", async () => {
    const vars = await browseVariables(server.endpoint);
    expect(vars).toContainEqual({ nodeId: "ns=1;s=Line.Speed", path: "Objects/PackagingLine/Line.Speed", dataType: "Double" });
    expect(vars).toContainEqual({ nodeId: "ns=1;s=Line.GoodCount", path: "Objects/PackagingLine/Line.GoodCount", dataType: "UInt32" });
    expect(vars.every((v) => !v.nodeId.startsWith("ns=0;"))).toBe(true);
  }, 60_000);

  it("rejects bad config with every problem", () => {
    const parsed = opcuaSchema.safeParse({
      type: "opcua",
      id: "x",
      endpoint: "http://nope",
      security_mode: "Sign",
      devices: [{ id: "d", type: "packaging-plc", nodes: [{ metric: "no_such_metric", node_id: "garbage" }] }],
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(paths).toEqual(expect.arrayContaining(["endpoint", "security_policy", "devices.0.nodes.0.metric", "devices.0.nodes.0.node_id"]));
  });
});
