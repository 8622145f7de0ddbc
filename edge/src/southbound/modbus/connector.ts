/**
 * A Modbus bus (RTU serial line or TCP peer) with its slaves: polls every slave's register map
 * each poll interval, hands the values to the sink, carries out commands as writes. Requests are
 * serialised on the bus. A slave that keeps failing is polled only every dead_retry_ms with a
 * single try, so a dead slave does not stall the others. A lost port or connection is reopened
 * with backoff.
 */
import { Backoff, BvError, errorMessage, isBvError, type Logger, sleep } from "@bitvelocity/common";
import { deviceType, EXCEPTION_NAMES, type MetricValues, type ModbusRequest, type ModbusResponse } from "@bitvelocity/devices";
import type {
  CommandOutcome,
  Connector,
  ConnectorContext,
  ConnectorDevice,
  ConnectorSink,
  ConnectorStatus,
  DeviceCommand,
} from "../connector.js";
import { type ConnectorMetrics, connectorMetrics } from "../metrics.js";
import { commandRequests, decodeBlock, planReads, type ReadBlock } from "./codec.js";
import { type ModbusConfig, registersOf } from "./schema.js";
import type { ModbusTransport } from "./transport.js";

interface Slave {
  readonly device: ConnectorDevice;
  readonly unitId: number;
  readonly timeoutMs: number;
  readonly blocks: readonly ReadBlock[];
  failures: number;
  nextTryAt: number;
  online: boolean;
}

const RESULT_OF: Record<string, string> = {
  MODBUS_TIMEOUT: "timeout",
  MODBUS_CRC: "crc",
  MODBUS_FRAME: "frame",
  MODBUS_DISCONNECTED: "disconnected",
};

export class ModbusConnector implements Connector {
  readonly id: string;
  readonly devices: readonly ConnectorDevice[];
  private readonly slaves: Slave[];
  private readonly logger: Logger;
  private readonly metrics: ConnectorMetrics;
  private queue: Promise<unknown> = Promise.resolve();
  private connected = false;
  private lastError: string | undefined;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private sink: ConnectorSink | undefined;

  constructor(
    private readonly config: ModbusConfig,
    private readonly transport: ModbusTransport,
    context: ConnectorContext,
  ) {
    this.id = config.id;
    this.logger = context.logger;
    this.metrics = connectorMetrics(context.registry);
    this.slaves = config.devices.map((d) => {
      const type = deviceType(d.type);
      if (!type) throw new BvError("CONFIG_INVALID", "fatal", `unknown device type ${d.type}`);
      return {
        device: { id: d.id, type, name: d.name ?? d.id },
        unitId: d.unit_id,
        timeoutMs: d.timeout_ms ?? config.timeout_ms,
        blocks: planReads(registersOf(d)),
        failures: 0,
        nextTryAt: 0,
        online: false,
      };
    });
    this.devices = this.slaves.map((s) => s.device);
  }

  async start(sink: ConnectorSink, signal: AbortSignal): Promise<void> {
    this.sink = sink;
    signal.addEventListener("abort", () => this.abort.abort(), { once: true });
    this.loop = this.run().catch((err: unknown) => this.logger.error({ err }, "modbus loop ended"));
  }

  status(): ConnectorStatus {
    return { connected: this.connected, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.transport.close();
    await this.loop;
  }

  async write(command: DeviceCommand): Promise<CommandOutcome> {
    const slave = this.slaves.find((s) => s.device.id === command.deviceId);
    if (!slave) return { status: "failed", code: "MODBUS_UNKNOWN_DEVICE", message: `${command.deviceId} is not on bus ${this.id}` };
    const planned = commandRequests(slave.device.type.protocols.modbus?.commands ?? [], command.name, command.params);
    if ("problem" in planned) return { status: "failed", code: "MODBUS_NO_MAPPING", message: planned.problem };
    try {
      for (const request of planned.requests) {
        const res = await this.exclusive(() => this.requestWithRetries(slave, request, this.config.retries));
        if (res.kind === "exception") throw exceptionError(slave, res.code);
      }
      this.metrics.writes.inc({ connector: this.id, result: "ok" });
      return { status: "succeeded", result: { ...command.params } };
    } catch (err) {
      this.metrics.writes.inc({ connector: this.id, result: "failed" });
      return { status: "failed", message: errorMessage(err), ...(isBvError(err) ? { code: err.code } : {}) };
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    while (!signal.aborted) {
      const lost = new AbortController();
      try {
        await this.transport.open((err) => {
          this.logger.warn({ err: errorMessage(err), link: this.transport.description }, "modbus link lost");
          lost.abort();
        });
      } catch (err) {
        this.lastError = isBvError(err) ? err.code : "MODBUS_PORT_UNAVAILABLE";
        this.logger.debug({ err: errorMessage(err) }, "modbus link not available");
        await sleep(backoff.next(), signal);
        continue;
      }
      this.setConnected(true);
      this.metrics.reconnects.inc({ connector: this.id });
      this.logger.info({ link: this.transport.description }, "modbus link open");
      const both = AbortSignal.any([signal, lost.signal]);
      let next = performance.now();
      while (!both.aborted) {
        await this.pollAll(both);
        if (!both.aborted) backoff.reset();
        next += this.config.poll_interval_ms;
        const now = performance.now();
        if (next < now) next = now; // overran: skip the missed cycles rather than burst
        await sleep(next - now, both);
      }
      this.setConnected(false);
      for (const s of this.slaves) this.setOnline(s, false, "link lost");
      await this.transport.close();
      if (!signal.aborted) await sleep(backoff.next(), signal);
    }
  }

  private async pollAll(signal: AbortSignal): Promise<void> {
    for (const slave of this.slaves) {
      if (signal.aborted) return;
      const dead = slave.failures >= this.config.dead_after;
      if (dead && performance.now() < slave.nextTryAt) continue;
      const values = await this.pollSlave(slave, dead ? 0 : this.config.retries);
      if (values === undefined) {
        slave.failures++;
        if (slave.failures >= this.config.dead_after) {
          slave.nextTryAt = performance.now() + this.config.dead_retry_ms;
          this.setOnline(slave, false, `no answer ${slave.failures} times`);
        }
        continue;
      }
      slave.failures = 0;
      this.setOnline(slave, true, "answering");
      await this.sink?.values(slave.device.id, values).catch((err: unknown) => {
        // The outbox refused it (back-pressure or closing): counted, not logged per reading.
        this.metrics.reads.inc({ connector: this.id, result: "not_committed" });
        this.logger.debug({ err: errorMessage(err), deviceId: slave.device.id }, "reading not committed");
      });
    }
  }

  /** All the slave's points, or undefined when the slave did not answer. Exceptions skip their block. */
  private async pollSlave(slave: Slave, retries: number): Promise<MetricValues | undefined> {
    const values: MetricValues = {};
    for (const block of slave.blocks) {
      try {
        const res = await this.exclusive(() => this.requestWithRetries(slave, block.request, retries));
        if (res.kind === "exception") {
          this.lastError = "MODBUS_EXCEPTION";
          this.logger.debug({ deviceId: slave.device.id, code: res.code }, "modbus exception");
          continue;
        }
        Object.assign(values, decodeBlock(block, res));
      } catch (err) {
        this.logger.debug({ err: errorMessage(err), deviceId: slave.device.id }, "modbus poll failed");
        return undefined;
      }
    }
    return Object.keys(values).length > 0 ? values : undefined;
  }

  private async requestWithRetries(slave: Slave, request: ModbusRequest, retries: number): Promise<ModbusResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.transport.request(slave.unitId, request, slave.timeoutMs);
        this.metrics.reads.inc({ connector: this.id, result: res.kind === "exception" ? "exception" : "ok" });
        return res;
      } catch (err) {
        const code = isBvError(err) ? err.code : "MODBUS_FRAME";
        this.lastError = code;
        this.metrics.reads.inc({ connector: this.id, result: RESULT_OF[code] ?? "frame" });
        if (attempt >= retries || code === "MODBUS_DISCONNECTED") throw err;
      }
    }
  }

  /** Runs `fn` when the bus is free (polls and writes share one line). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private setConnected(up: boolean): void {
    this.connected = up;
    this.metrics.connected.set({ connector: this.id }, up ? 1 : 0);
  }

  private setOnline(slave: Slave, online: boolean, reason: string): void {
    if (slave.online === online) return;
    slave.online = online;
    this.sink?.presence(slave.device.id, online, reason);
  }
}

function exceptionError(slave: Slave, code: number): BvError {
  return new BvError(
    "MODBUS_EXCEPTION",
    "protocol",
    `unit ${slave.unitId} answered exception ${code} (${EXCEPTION_NAMES[code] ?? "unknown"})`,
  );
}
