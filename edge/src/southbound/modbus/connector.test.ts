/**
 * The Modbus connector against the simulator's slaves: RTU over a real pty pair (socat) and TCP.
 * Faults: the far end unplugged and replugged, CRC noise on the line, one dead slave of two.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import { RtuSlaveServer, SlaveBus, TcpSlaveServer } from "@bitvelocity/firmware-sim";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { connectorContract } from "../connector.contract.js";
import type { Connector } from "../connector.js";
import { PtyPair } from "../test-pty.js";
import { hasTool, RecordingSink, waitUntil } from "../test-support.js";
import { modbusRtuPlugin, modbusTcpPlugin } from "./index.js";
import { modbusRtuSchema, modbusTcpSchema } from "./schema.js";

const socat = hasTool("socat");
const noSocat = socat ? undefined : "socat is not installed";

function rtuConfig(port: string, extra: Record<string, unknown> = {}) {
  return modbusRtuSchema.parse({
    type: "modbus-rtu",
    id: "meter-bus",
    port,
    baud_rate: 19_200,
    poll_interval_ms: 100,
    timeout_ms: 100,
    retries: 1,
    dead_after: 2,
    dead_retry_ms: 2000,
    devices: [
      { id: "meter-1", type: "power-meter", unit_id: 1 },
      { id: "meter-2", type: "power-meter", unit_id: 2 },
    ],
    ...extra,
  });
}

const context = (registry = new Registry()) => ({ dataDir: tmpdir(), registry, logger: silentLogger() });

async function rtuRig() {
  const pty = new PtyPair(mkdtempSync(join(tmpdir(), "bv-pty-")));
  await pty.start();
  const bus = new SlaveBus();
  bus.add(1);
  bus.add(2);
  const server = new RtuSlaveServer(pty.slave, bus, 19_200);
  await server.open();
  return { pty, bus, server };
}

connectorContract(
  "modbus-rtu",
  async () => {
    const { pty, server } = await rtuRig();
    const connector = await modbusRtuPlugin.create(rtuConfig(pty.master), context());
    return {
      connector,
      deviceId: "meter-1",
      command: { name: "set_relay", params: { closed: false } },
      restartPeer: async () => {
        await server.close();
        await server.open();
      },
      close: async () => {
        await server.close();
        await pty.stop();
      },
    };
  },
  noSocat,
);

connectorContract("modbus-tcp", async () => {
  const bus = new SlaveBus();
  bus.add(1);
  const server = new TcpSlaveServer(bus);
  let port = await server.listen(0);
  const config = modbusTcpSchema.parse({
    type: "modbus-tcp",
    id: "meter-tcp",
    host: "127.0.0.1",
    port,
    poll_interval_ms: 100,
    timeout_ms: 200,
    devices: [{ id: "meter-1", type: "power-meter", unit_id: 1 }],
  });
  const connector = await modbusTcpPlugin.create(config, context());
  return {
    connector,
    deviceId: "meter-1",
    command: { name: "reset_energy", params: {} },
    restartPeer: async () => {
      await server.close();
      port = await server.listen(port);
    },
    close: () => server.close(),
  };
});

describe.skipIf(!socat)(`modbus rtu faults${noSocat ? ` (skipped: ${noSocat})` : ""}`, () => {
  let connector: Connector | undefined;
  const abort = new AbortController();
  afterEach(async () => {
    abort.abort();
    await connector?.stop();
  });

  it("survives an unplugged and replugged line, CRC noise and a dead slave", async () => {
    const rig = await rtuRig();
    const registry = new Registry();
    const sink = new RecordingSink();
    connector = await modbusRtuPlugin.create(rtuConfig(rig.pty.master), context(registry));
    await connector.start(sink, abort.signal);
    await waitUntil("both meters", () => sink.count("meter-1") > 2 && sink.count("meter-2") > 2);

    // Unplug: the far end and the line go away; replug: a new pty pair at the same paths.
    await rig.server.close();
    await rig.pty.stop();
    await waitUntil("link down", () => connector?.status().connected === false);
    await rig.pty.start();
    await rig.server.open();
    let since = Date.now();
    await waitUntil("values after replug", () => sink.count("meter-1", since) > 0 && sink.count("meter-2", since) > 0);

    // 30 % of answers with a broken CRC: counted, retried, values keep coming.
    rig.bus.faults.crcNoise = 0.3;
    since = Date.now();
    await waitUntil("values through the noise", () => sink.count("meter-1", since) >= 10 && sink.count("meter-2", since) >= 10);
    expect(rig.bus.stats.corrupted).toBeGreaterThan(0);
    const reads = await registry.getSingleMetricAsString("bv_edge_connector_reads_total");
    expect(reads).toMatch(/result="crc"} [1-9]/);
    rig.bus.faults.crcNoise = 0;

    // Meter 2 goes silent: it is marked offline and meter 1 keeps its poll rate.
    rig.bus.faults.silent.add(2);
    await waitUntil("meter-2 offline", () => sink.presenceLog.some((p) => p.deviceId === "meter-2" && !p.online));
    since = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    // 100 ms poll: ~20 polls in 2 s; a stalled bus (2 × 100 ms timeouts per poll) would manage ~6.
    expect(sink.count("meter-1", since)).toBeGreaterThanOrEqual(12);
    rig.bus.faults.silent.delete(2);
    since = Date.now();
    await waitUntil("meter-2 back", () => sink.count("meter-2", since) > 0, 5000);

    await connector.stop();
    await rig.server.close();
    await rig.pty.stop();
  }, 60_000);

  it("writes a coil and reads the effect back", async () => {
    const rig = await rtuRig();
    const sink = new RecordingSink();
    connector = await modbusRtuPlugin.create(rtuConfig(rig.pty.master), context());
    await connector.start(sink, abort.signal);
    await waitUntil("relay closed", () => sink.latest("meter-1", "relay_closed") === true);
    const outcome = await connector.write?.({ commandId: "w1", deviceId: "meter-1", name: "set_relay", params: { closed: false } });
    expect(outcome).toEqual({ status: "succeeded", result: { closed: false } });
    await waitUntil("relay open", () => sink.latest("meter-1", "relay_closed") === false && sink.latest("meter-1", "current") === 0);
    expect(sink.latest("meter-2", "relay_closed")).toBe(true);
    await connector.stop();
    await rig.server.close();
    await rig.pty.stop();
  }, 30_000);
});

describe("modbus config", () => {
  it("names a register overlap, a duplicate unit and an unknown metric", () => {
    const parsed = modbusTcpSchema.safeParse({
      type: "modbus-tcp",
      id: "bus",
      host: "127.0.0.1",
      devices: [
        {
          id: "m1",
          type: "power-meter",
          unit_id: 1,
          registers: [
            { metric: "voltage", table: "holding", address: 0, data_type: "float32" },
            { metric: "current", table: "holding", address: 1, data_type: "float32" },
            { metric: "torque", table: "holding", address: 4, data_type: "uint16" },
          ],
        },
        { id: "m2", type: "power-meter", unit_id: 1 },
      ],
    });
    expect(parsed.success).toBe(false);
    const problems = parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(problems).toEqual(
      expect.arrayContaining([
        "devices.0.registers.1: holding 1 of current overlaps voltage",
        "devices.0.registers.2.metric: torque is not a metric of power-meter",
        "devices.1.unit_id: unit 1 is also m1",
      ]),
    );
  });
});
