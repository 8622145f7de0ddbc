/**
 * One simulated device: its MQTT session (persistent, last will, jittered reconnects), its
 * telemetry timer, and its command handling. Telemetry numbers `n` count from 1 per device and a
 * message is written to the acked log only when the broker acknowledged it, exactly once.
 */
import { Backoff, type Logger } from "@bitvelocity/common";
import { type DeviceType, encodeCommandResult, encodeTelemetry, type MetricValues, topicFor } from "@bitvelocity/devices";
import mqtt, { type MqttClient } from "mqtt";
import type { AckedSink } from "./acked-log.js";
import { CommandHandler } from "./commands.js";
import { Rng } from "./prng.js";
import type { PlannedDevice } from "./provision.js";
import { createModel, type DeviceModel } from "./signals/index.js";
import type { FleetCounters } from "./stats.js";

export interface DeviceOptions {
  readonly plan: PlannedDevice;
  readonly type: DeviceType;
  readonly brokerUrl: string;
  readonly connectTimeoutMs: number;
  readonly qos: 0 | 1;
  readonly seed: number;
  readonly counters: FleetCounters;
  readonly ackedLog: AckedSink;
  readonly logger: Logger;
}

/** CONNACK return codes that mean "these credentials will not work" [MQTT-3.2.2.3]: retrying fast is pointless. */
const REFUSED_CODES = new Set([2, 4, 5]);
const JITTER = 0.05;

export class SimDevice {
  readonly id: string;
  private client: MqttClient | undefined;
  private readonly model: DeviceModel;
  private readonly commands: CommandHandler;
  private readonly timing: Rng;
  private readonly backoff: Backoff;
  private readonly refusedBackoff: Backoff;
  private readonly pending = new Map<number, number>(); // n → publish time (performance.now())
  private intervalMs: number;
  private n = 0;
  private lastTs = 0;
  private online = false;
  private stopping = false;
  private refused = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private abandoned = 0;
  identifyUntilMs = 0;

  constructor(private readonly options: DeviceOptions) {
    this.id = options.plan.deviceId;
    this.intervalMs = options.plan.intervalMs;
    this.model = createModel(options.type.type, Rng.from(options.seed, this.id), this.intervalMs / 1000);
    this.timing = Rng.from(options.seed, `${this.id}#timing`);
    const random = () => this.timing.next();
    this.backoff = new Backoff({ initialMs: 500, maxMs: 30_000, random });
    this.refusedBackoff = new Backoff({ initialMs: 15_000, maxMs: 300_000, random });
    this.commands = new CommandHandler(options.type, this.model, {
      setIntervalMs: (ms) => this.setIntervalMs(ms),
      identify: (s) => {
        this.identifyUntilMs = Date.now() + s * 1000;
      },
    });
  }

  /** Published, not yet acknowledged (or, after close(), never acknowledged). */
  get outstanding(): number {
    return this.pending.size + this.abandoned;
  }

  get interval(): number {
    return this.intervalMs;
  }

  get isOnline(): boolean {
    return this.online;
  }

  /** Connects after `delayMs` (staggered start); the first reading follows one interval later. */
  start(delayMs: number): void {
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      this.connect();
      this.scheduleTick(this.intervalMs * this.timing.uniform(0.5, 1));
    }, delayMs);
  }

  private connect(): void {
    const { plan, brokerUrl, connectTimeoutMs } = this.options;
    const client = mqtt.connect(brokerUrl, {
      protocolVersion: 4,
      clientId: plan.deviceId,
      username: plan.deviceId,
      password: plan.secret,
      clean: false, // commands queued while we were away are delivered on reconnect
      keepalive: 30,
      connectTimeout: connectTimeoutMs,
      reconnectPeriod: 0, // reconnects are ours: jittered exponential backoff, see onClose
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: topicFor(plan.deviceId, "status"), payload: Buffer.from("offline"), qos: 1, retain: true },
    });
    this.client = client;
    client.on("connect", () => this.onConnect(client));
    client.on("close", () => this.onClose(client));
    client.on("error", (err) => this.onError(err));
    client.on("message", (topic, payload) => this.onMessage(client, topic, payload));
  }

  private onConnect(client: MqttClient): void {
    const { counters, plan, logger } = this.options;
    if (!this.online) counters.connected += 1;
    this.online = true;
    counters.connects += 1;
    this.backoff.reset();
    this.refusedBackoff.reset();
    client.publish(topicFor(plan.deviceId, "status"), "online", { qos: 1, retain: true });
    client.subscribe(topicFor(plan.deviceId, "command"), { qos: 1 }, (err) => {
      if (err) logger.warn({ deviceId: plan.deviceId, err: err.message }, "command subscription failed");
    });
  }

  private onClose(client: MqttClient): void {
    const { counters } = this.options;
    if (this.online) {
      this.online = false;
      counters.connected -= 1;
      counters.disconnects += 1;
    }
    if (this.stopping || this.reconnectTimer || client !== this.client) return;
    const delay = this.refused ? this.refusedBackoff.next() : this.backoff.next();
    this.refused = false;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping) return;
      // Keep the stores: unacknowledged QoS 1 messages are resent after the reconnect, and their
      // callbacks (the acked log) fire when their PUBACK finally arrives.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
  }

  private onError(err: Error & { code?: unknown }): void {
    const { counters, logger, plan } = this.options;
    counters.errors += 1;
    if (typeof err.code === "number" && REFUSED_CODES.has(err.code)) {
      this.refused = true;
      counters.authFailures += 1;
      logger.warn({ deviceId: plan.deviceId, code: err.code }, "broker refused the device's credentials; backing off");
    } else {
      logger.debug({ deviceId: plan.deviceId, err: err.message }, "connection error");
    }
  }

  private onMessage(client: MqttClient, topic: string, payload: Buffer): void {
    const { plan, counters } = this.options;
    if (topic !== topicFor(plan.deviceId, "command")) return;
    counters.commands += 1;
    const result = this.commands.handle(payload);
    if (!result || result.status === "failed") counters.commandsFailed += 1;
    if (result) client.publish(topicFor(plan.deviceId, "command-result"), encodeCommandResult(result), { qos: 1 });
  }

  private setIntervalMs(ms: number): void {
    this.intervalMs = ms;
    if (this.tickTimer && !this.stopping) this.scheduleTick(ms);
  }

  private scheduleTick(delayMs: number): void {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    if (this.stopping) return;
    this.scheduleTick(this.intervalMs * (1 + this.timing.uniform(-JITTER, JITTER)));
    const now = Date.now();
    const ts = now > this.lastTs ? now : this.lastTs + 1; // strictly increasing per device
    this.lastTs = ts;
    const values = this.model.sample(ts);
    const client = this.client;
    if (!client || !this.online || !client.connected) {
      this.options.counters.skippedOffline += 1;
      return;
    }
    this.publish(client, ts, values);
  }

  private publish(client: MqttClient, ts: number, values: MetricValues): void {
    const { plan, qos, counters } = this.options;
    this.n += 1;
    const n = this.n;
    this.pending.set(n, performance.now());
    counters.sent += 1;
    client.publish(topicFor(plan.deviceId, "telemetry"), encodeTelemetry(values, ts), { qos }, (err) => this.settle(n, ts, values, err));
  }

  /** Called once per publish by mqtt.js (PUBACK, or write done for QoS 0); guarded so a line is written once. */
  private settle(n: number, ts: number, values: MetricValues, err: Error | undefined): void {
    const sentAt = this.pending.get(n);
    if (sentAt === undefined) return;
    this.pending.delete(n);
    const { counters, ackedLog, plan } = this.options;
    if (err) {
      counters.publishFailures += 1;
      counters.errors += 1;
      return;
    }
    counters.acked += 1;
    counters.latency.record(performance.now() - sentAt);
    ackedLog.write({ deviceId: plan.deviceId, n, ts, values });
  }

  /** Stops readings and reconnects; outstanding PUBACKs may still arrive until close(). */
  halt(): void {
    this.stopping = true;
    for (const t of [this.tickTimer, this.startTimer, this.reconnectTimer]) if (t) clearTimeout(t);
    this.tickTimer = this.startTimer = this.reconnectTimer = undefined;
  }

  /** Says goodbye (retained "offline"), ends the session, forgets what was never acknowledged. */
  async close(timeoutMs = 1_000): Promise<void> {
    this.halt();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await withTimeout(client.publishAsync(topicFor(this.id, "status"), "offline", { qos: 1, retain: true }), timeoutMs);
    }
    const force = !client.connected || this.pending.size > 0;
    await withTimeout(client.endAsync(force), timeoutMs);
    this.abandoned = this.pending.size;
    this.pending.clear();
  }
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
