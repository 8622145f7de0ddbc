/**
 * `bv-sim plc` (the packaging-line PLC as an OPC UA server) and `bv-sim meter` (power meters as
 * Modbus slaves on a serial device and/or TCP), with their fault injection flags.
 */
import { join } from "node:path";
import { ConfigError, parseCli, waitForShutdown } from "@bitvelocity/common";
import { SlaveBus } from "./modbus/bus.js";
import { RtuSlaveServer } from "./modbus/rtu-server.js";
import { TcpSlaveServer } from "./modbus/tcp-server.js";
import { PlcServer } from "./opcua/plc-server.js";

export const PLC_USAGE = `Usage: bv-sim plc [--port N] [--pki DIR] [--restart-every S] [--insecure] [--bench-variables N]

Serves the packaging-line PLC (catalog packaging-plc) over OPC UA at
opc.tcp://127.0.0.1:PORT/UA/BitVelocityPLC until stopped. SIGUSR1 restarts the server (a PLC power cycle).

Options:
  --port N            TCP port (default 4840; 0 picks one)
  --pki DIR           the server's certificate store (default ./data/sim/pki)
  --restart-every S   restart the server every S seconds (fault injection)
  --insecure          offer security None only (default also offers Sign and SignAndEncrypt, Basic256Sha256)
  --bench-variables N add N changing variables ns=1;s=Bench.0 … (integers 0-100), for load tests`;

export const METER_USAGE = `Usage: bv-sim meter [--serial DEVICE] [--baud N] [--tcp-port N] [--units 1,2] [--silent 2] [--crc-noise P]

Serves power meters (catalog power-meter) as Modbus slaves, RTU on a serial device (e.g. one end of
socat -d -d pty,raw,echo=0,link=/tmp/bv/edge pty,raw,echo=0,link=/tmp/bv/sim) and/or Modbus TCP.

Options:
  --serial DEVICE     serve RTU on this serial device
  --baud N            baud rate (default 9600)
  --tcp-port N        serve Modbus TCP on 127.0.0.1:N
  --units LIST        unit ids of the meters (default 1)
  --silent LIST       unit ids that never answer (a dead slave)
  --crc-noise P       share of RTU answers sent with a broken CRC (0..1)`;

function numberList(name: string, raw: unknown, fallback: number[]): number[] {
  if (typeof raw !== "string") return fallback;
  const list = raw.split(",").map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 247)) throw new ConfigError([`--${name}: expected unit ids 1-247, got ${raw}`]);
  return list;
}

function num(name: string, raw: unknown, fallback: number): number {
  if (typeof raw !== "string") return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError([`--${name}: expected a number, got ${JSON.stringify(raw)}`]);
  return n;
}

export async function runPlc(argv: string[]): Promise<void> {
  const { values } = parseCli(
    {
      name: "bv-sim plc",
      usage: PLC_USAGE,
      options: {
        port: { type: "string" },
        pki: { type: "string" },
        "restart-every": { type: "string" },
        insecure: { type: "boolean" },
        "bench-variables": { type: "string" },
      },
    },
    argv,
  );
  const server = new PlcServer({
    port: num("port", values.port, 4840),
    pkiDir: typeof values.pki === "string" ? values.pki : join("data", "sim", "pki"),
    secure: values.insecure !== true,
    extraVariables: num("bench-variables", values["bench-variables"], 0),
  });
  const endpoint = await server.start();
  process.stderr.write(`bv-sim: PLC serving at ${endpoint}\n`);
  const restart = () => void server.restart().then(() => process.stderr.write("bv-sim: PLC restarted\n"));
  process.on("SIGUSR1", restart);
  const every = num("restart-every", values["restart-every"], 0);
  const timer = every > 0 ? setInterval(restart, every * 1000) : undefined;
  await waitForShutdown();
  clearInterval(timer);
  await server.stop();
}

export async function runMeter(argv: string[]): Promise<void> {
  const { values } = parseCli(
    {
      name: "bv-sim meter",
      usage: METER_USAGE,
      options: {
        serial: { type: "string" },
        baud: { type: "string" },
        "tcp-port": { type: "string" },
        units: { type: "string" },
        silent: { type: "string" },
        "crc-noise": { type: "string" },
      },
    },
    argv,
  );
  if (typeof values.serial !== "string" && typeof values["tcp-port"] !== "string")
    throw new ConfigError(["give --serial DEVICE and/or --tcp-port N"]);
  const bus = new SlaveBus();
  for (const unit of numberList("units", values.units, [1])) bus.add(unit);
  for (const unit of numberList("silent", values.silent, [])) bus.faults.silent.add(unit);
  bus.faults.crcNoise = num("crc-noise", values["crc-noise"], 0);
  const rtu = typeof values.serial === "string" ? new RtuSlaveServer(values.serial, bus, num("baud", values.baud, 9600)) : undefined;
  await rtu?.open();
  const tcp = typeof values["tcp-port"] === "string" ? new TcpSlaveServer(bus) : undefined;
  const port = tcp ? await tcp.listen(num("tcp-port", values["tcp-port"], 502)) : undefined;
  process.stderr.write(`bv-sim: meters serving${rtu ? ` RTU on ${values.serial}` : ""}${port ? ` TCP on 127.0.0.1:${port}` : ""}\n`);
  await waitForShutdown();
  await rtu?.close();
  await tcp?.close();
  process.stdout.write(`${JSON.stringify(bus.stats)}\n`);
}
