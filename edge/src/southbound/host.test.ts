/**
 * The whole edge with connectors configured: OPC UA (simulated PLC) and Modbus TCP (simulated
 * meters) readings reach the cloud through the same pipeline as MQTT ones; commands from the cloud
 * become node and coil writes with their results sent back; bad values are dead-lettered.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import { SlaveBus, TcpSlaveServer } from "@bitvelocity/firmware-sim";
import { PlcServer } from "@bitvelocity/firmware-sim/opcua";
import { CommandStatus } from "@bitvelocity/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEdgeConfig } from "../config.js";
import { type EdgeHandle, startEdge } from "../main.js";
import { TestCloud } from "../northbound/test-cloud.js";
import { waitUntil } from "./test-support.js";

const dir = mkdtempSync(join(tmpdir(), "bv-edge-connectors-"));
let cloud: TestCloud;
let plc: PlcServer;
let meters: TcpSlaveServer;
let edge: EdgeHandle;

const readingsOf = (deviceId: string) => cloud.batches.flatMap((b) => b.readings).filter((r) => r.deviceId === deviceId);
const flag = (r: { values: Record<string, { kind?: { $case: string; flag?: boolean } | undefined }> }) => {
  const k = r.values.relay_closed?.kind;
  return k?.$case === "flag" ? k.flag : undefined;
};
const resultOf = (commandId: string) => cloud.commandResults.filter((r) => r.commandId === commandId).map((r) => r.status);

beforeAll(async () => {
  cloud = await TestCloud.start({ token: "t" });
  plc = new PlcServer({ pkiDir: join(tmpdir(), "bv-opcua-sim-pki"), secure: false, tickMs: 100 });
  await plc.start();
  const bus = new SlaveBus();
  bus.add(1);
  bus.add(2);
  meters = new TcpSlaveServer(bus);
  const port = await meters.listen(0);
  const config = loadEdgeConfig(
    undefined,
    {},
    {
      edge_id: "edge-conn",
      data_dir: dir,
      "mqtt.host": "127.0.0.1",
      "mqtt.port": 0,
      "mqtt.ws_port": null,
      "http.host": "127.0.0.1",
      "http.port": 0,
      "uplink.url": cloud.url,
      "uplink.token": "t",
      "uplink.tls.insecure": true,
      "uplink.status_interval_ms": 500,
      connectors: [
        {
          type: "opcua",
          id: "line",
          endpoint: plc.endpoint,
          accept_unknown_server_certificate: true,
          sampling_interval_ms: 100,
          publishing_interval_ms: 100,
          devices: [{ id: "plc-1", type: "packaging-plc" }],
        },
        {
          type: "modbus-tcp",
          id: "meters",
          host: "127.0.0.1",
          port,
          poll_interval_ms: 100,
          devices: [
            {
              id: "meter-1",
              type: "power-meter",
              unit_id: 1,
              report: { strategy: "on_change", points: { voltage: { strategy: "always" } } },
            },
            {
              id: "meter-2",
              type: "power-meter",
              unit_id: 2,
              // A wrong scale in the register map: 2300 V is outside the catalog's range.
              registers: [{ metric: "voltage", table: "input", address: 0, data_type: "float32", scale: 10 }],
            },
          ],
        },
      ],
    },
  );
  edge = await startEdge(config, { logger: silentLogger() });
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await plc?.stop();
  await meters?.close();
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("edge with connectors", () => {
  it("forwards connector readings to the cloud with the configured device ids and types", async () => {
    await waitUntil(
      "plc and meter readings in the cloud",
      () => readingsOf("plc-1").length > 0 && readingsOf("meter-1").length > 2,
      20_000,
    );
    expect(readingsOf("plc-1")[0]?.deviceType).toBe("packaging-plc");
    expect(readingsOf("meter-1")[0]?.deviceType).toBe("power-meter");
    const devices = edge.gateway.devices().map((d) => d.deviceId);
    expect(devices).toEqual(expect.arrayContaining(["plc-1", "meter-1", "meter-2"]));
    const states = () => cloud.statuses.at(-1)?.connectors ?? [];
    await waitUntil(
      "connected connectors in EdgeStatus",
      () => states().length === 2 && states().every((c) => c.state === "connected"),
      15_000,
    );
    expect(cloud.statuses.at(-1)?.connectors).toEqual([
      { id: "line", kind: "opcua", state: "connected", detail: expect.any(String) },
      { id: "meters", kind: "modbus-tcp", state: "connected", detail: expect.any(String) },
    ]);
  });

  it("applies the device's report strategy: an unchanged relay is not repeated", async () => {
    await waitUntil("several meter readings", () => readingsOf("meter-1").length > 5, 20_000);
    const withRelay = readingsOf("meter-1").filter((r) => flag(r) !== undefined);
    expect(withRelay.length).toBe(1);
  });

  it("dead-letters connector values outside the catalog range", async () => {
    await waitUntil("a dead letter", () => edge.outbox.stats().deadLetters > 0, 10_000);
    expect(readingsOf("meter-2")).toEqual([]);
  });

  it("turns cloud commands into node and coil writes and returns their results", async () => {
    cloud.sendCommand({ commandId: "cmd-speed", deviceId: "plc-1", name: "set_speed", paramsJson: '{"speed":250}', expiresAtMs: 0 });
    cloud.sendCommand({ commandId: "cmd-relay", deviceId: "meter-1", name: "set_relay", paramsJson: '{"closed":false}', expiresAtMs: 0 });
    cloud.sendCommand({ commandId: "cmd-bad", deviceId: "plc-1", name: "set_speed", paramsJson: '{"speed":9000}', expiresAtMs: 0 });
    await waitUntil(
      "command results",
      () =>
        resultOf("cmd-speed").includes(CommandStatus.COMMAND_STATUS_SUCCEEDED) &&
        resultOf("cmd-relay").includes(CommandStatus.COMMAND_STATUS_SUCCEEDED),
      10_000,
    );
    expect(resultOf("cmd-bad")).toEqual([CommandStatus.COMMAND_STATUS_REJECTED]);
    expect(plc.writes).toContainEqual({ nodeId: "ns=1;s=Line.SpeedSetpoint", value: 250 });
    await waitUntil("relay open in the readings", () => readingsOf("meter-1").some((r) => flag(r) === false));
  });
});
