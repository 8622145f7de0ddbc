/**
 * Interop with Modbus implementations no one here wrote (Debian packages): our master against a
 * pymodbus slave (TCP and RTU over a pty pair), and mbpoll as master against our simulator's slave.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { silentLogger } from "@bitvelocity/common";
import { RtuSlaveServer, SlaveBus, TcpSlaveServer } from "@bitvelocity/firmware-sim";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Connector } from "../connector.js";
import { PtyPair } from "../test-pty.js";
import { hasTool, RecordingSink, waitUntil } from "../test-support.js";
import { modbusRtuPlugin, modbusTcpPlugin } from "./index.js";
import { modbusRtuSchema, modbusTcpSchema } from "./schema.js";

const run = promisify(execFile);
const PYTHON = "/usr/bin/python3";
const script = new URL("../../../src/southbound/modbus/pymodbus-slave.py", import.meta.url).pathname;

function pymodbusMissing(): string | undefined {
  const ok = spawnSync(PYTHON, ["-c", "import pymodbus.server"], { stdio: "ignore" }).status === 0;
  if (ok) return undefined;
  if (process.env.BV_REQUIRE_SERVICES === "1") throw new Error("required: python3-pymodbus (with python3-serial, python3-serial-asyncio)");
  return "python3-pymodbus is not installed";
}
const noPymodbus = pymodbusMissing();
const noSocat = hasTool("socat") ? undefined : "socat is not installed";
const noMbpoll = hasTool("mbpoll", ["-V"]) ? undefined : "mbpoll is not installed";

const EXPECTED = { voltage: 230.5, current: 10.25, power: 12.345, energy: 1000, frequency: 50, power_factor: 0.95, relay_closed: true };

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const procs: ChildProcess[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  for (const p of procs.splice(0)) p.kill("SIGKILL");
});

async function startConnector(connector: Connector): Promise<RecordingSink> {
  const sink = new RecordingSink();
  const abort = new AbortController();
  await connector.start(sink, abort.signal);
  stops.push(async () => {
    abort.abort();
    await connector.stop();
  });
  return sink;
}

const context = () => ({ dataDir: tmpdir(), registry: new Registry(), logger: silentLogger() });
const meter = [{ id: "meter-1", type: "power-meter", unit_id: 1 }];

describe.skipIf(noPymodbus !== undefined)(`our master, pymodbus slave${noPymodbus ? ` (skipped: ${noPymodbus})` : ""}`, () => {
  it("reads the meter's map over TCP and writes the relay coil", async () => {
    const port = await freePort();
    procs.push(spawn(PYTHON, [script, "tcp", String(port)], { stdio: "ignore" }));
    const config = modbusTcpSchema.parse({ type: "modbus-tcp", id: "pm", host: "127.0.0.1", port, poll_interval_ms: 100, devices: meter });
    const connector = await modbusTcpPlugin.create(config, context());
    const sink = await startConnector(connector);
    await waitUntil("values from pymodbus", () => sink.count("meter-1") > 0, 15_000);
    expect(sink.readings[0]?.values).toEqual(EXPECTED);
    expect(await connector.write?.({ commandId: "w", deviceId: "meter-1", name: "set_relay", params: { closed: false } })).toMatchObject({
      status: "succeeded",
    });
    await waitUntil("relay open read back", () => sink.latest("meter-1", "relay_closed") === false);
  }, 30_000);

  it.skipIf(noSocat !== undefined)(
    "reads the meter's map over RTU on a pty pair",
    async () => {
      const pty = new PtyPair(mkdtempSync(join(tmpdir(), "bv-pty-")));
      await pty.start();
      stops.push(() => pty.stop());
      procs.push(spawn(PYTHON, [script, "rtu", pty.slave], { stdio: "ignore" }));
      const config = modbusRtuSchema.parse({
        type: "modbus-rtu",
        id: "pm-rtu",
        port: pty.master,
        baud_rate: 19_200,
        parity: "none",
        poll_interval_ms: 100,
        devices: meter,
      });
      const sink = await startConnector(await modbusRtuPlugin.create(config, context()));
      await waitUntil("values from pymodbus over RTU", () => sink.count("meter-1") > 0, 15_000);
      expect(sink.readings[0]?.values).toEqual(EXPECTED);
    },
    30_000,
  );
});

describe.skipIf(noMbpoll !== undefined)(`mbpoll master, our simulator's slave${noMbpoll ? ` (skipped: ${noMbpoll})` : ""}`, () => {
  const mbpoll = async (args: string[]): Promise<string> => (await run("mbpoll", ["-1", "-a", "1", ...args], { timeout: 10_000 })).stdout;
  const value = (out: string, ref: number): number => Number(new RegExp(`\\[${ref}\\]:\\s+(-?[\\d.]+)`).exec(out)?.[1]);

  it("reads floats and coils and writes the relay over TCP", async () => {
    const bus = new SlaveBus();
    bus.add(1);
    const server = new TcpSlaveServer(bus);
    const port = await server.listen(0);
    stops.push(() => server.close());
    const tcp = ["-m", "tcp", "-p", String(port)];
    // mbpoll references are 1-based: reference 1 is register 0. -B: big-endian word order.
    const volts = value(await mbpoll([...tcp, "-t", "3:float", "-B", "-r", "1", "-c", "1", "127.0.0.1"]), 1);
    expect(volts).toBeGreaterThan(215);
    expect(volts).toBeLessThan(245);
    expect(value(await mbpoll([...tcp, "-t", "0", "-r", "1", "127.0.0.1"]), 1)).toBe(1);
    await mbpoll([...tcp, "-t", "0", "-r", "1", "127.0.0.1", "0"]);
    expect(value(await mbpoll([...tcp, "-t", "0", "-r", "1", "127.0.0.1"]), 1)).toBe(0);
    expect(value(await mbpoll([...tcp, "-t", "3:float", "-B", "-r", "3", "-c", "1", "127.0.0.1"]), 3)).toBe(0);
    // An address past the map is an exception, which mbpoll reports as an error.
    await expect(mbpoll([...tcp, "-t", "3", "-r", "200", "127.0.0.1"])).rejects.toThrow(/Illegal data address/i);
  }, 30_000);

  it.skipIf(noSocat !== undefined)(
    "reads over RTU on a pty pair",
    async () => {
      const pty = new PtyPair(mkdtempSync(join(tmpdir(), "bv-pty-")));
      await pty.start();
      const bus = new SlaveBus();
      bus.add(1);
      const server = new RtuSlaveServer(pty.slave, bus, 19_200);
      await server.open();
      stops.push(async () => {
        await server.close();
        await pty.stop();
      });
      const out = await mbpoll(["-m", "rtu", "-b", "19200", "-P", "none", "-t", "3", "-r", "9", "-c", "2", pty.master]);
      expect(value(out, 9) / 100).toBeCloseTo(50, 0); // frequency, x0.01
      expect(value(out, 10) / 1000).toBeGreaterThan(0.8); // power factor, x0.001
    },
    30_000,
  );
});
