/**
 * One simulated device: its MQTT session (persistent, last will, jittered reconnects), its
 * readings (driven by the fleet's one scheduler), a retry queue while offline, a clock that may
 * lack an RTC, OTA updates, and the failures a scenario injects. Telemetry numbers `n` count from
 * 1 per device and a message is written to the acked log only when the broker acknowledged it,
 * exactly once.
 */
import { Backoff, type Logger } from "@bitvelocity/common";
import { type DeviceType, encodeCommandResult, type MetricValues, topicFor } from "@bitvelocity/devices";
import mqtt, { type MqttClient } from "mqtt";
import type { AckedSink } from "./acked-log.js";
import { CommandHandler, PENDING } from "./commands.js";
import { DeviceClock } from "./device-clock.js";
import type { FailureTarget, Malformation } from "./failures.js";
import { malformedPayload, telemetryPayload } from "./payloads.js";
import { Rng } from "./prng.js";
import type { PlannedDevice } from "./provision.js";
import type { FleetSpec } from "./scenario.js";
import type { FleetScheduler, ScheduledTask } from "./scheduler.js";
import { withGenerators } from "./signals/generators.js";
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
  readonly scheduler: FleetScheduler;
  /** Firmware behaviour from the scenario's fleet; defaults as in the scenario schema. */
  readonly firmware?: Partial<Pick<FleetSpec, "payload_bytes" | "signals" | "rtc" | "clock_sync_ms" | "offline_queue" | "persist_queue">>;
}

interface Reading {
  readonly n: number;
  readonly ts: number;
  readonly values: MetricValues;
}

/** CONNACK return codes that mean "these credentials will not work" [MQTT-3.2.2.3]: retrying fast is pointless. */
const REFUSED_CODES = new Set([2, 4, 5]);
const JITTER = 0.05;
/** OTA download speed and reboot time of the simulated firmware. */
const OTA_KB_PER_S = 256;
const OTA_REBOOT_MS = 1_000;

export class SimDevice implements ScheduledTask, FailureTarget {
  readonly id: string;
  scheduleToken = 0;
  private client: MqttClient | undefined;
  private readonly model: DeviceModel;
  private readonly commands: CommandHandler;
  private readonly timing: Rng;
  private readonly backoff: Backoff;
  private readonly refusedBackoff: Backoff;
  private readonly clock: DeviceClock;
  private readonly pending = new Map<number, number>(); // n → publish time (performance.now())
  private queue: Reading[] = [];
  private intervalMs: number;
  private n = 0;
  private online = false;
  private stopping = false;
  private refused = false;
  private started = false;
  private poweredOff = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private offlineUntil = 0;
  private stormReconnect = false;
  private duplicateUntil = 0;
  private duplicateNext = false;
  private abandoned = 0;
  private pendingOtaResult: { id: string; version: string; previous: string } | undefined;
  firmwareVersion = "1.0.0";
  boots = 1;
  identifyUntilMs = 0;

  constructor(private readonly options: DeviceOptions) {
    this.id = options.plan.deviceId;
    this.intervalMs = options.plan.intervalMs;
    const fw = options.firmware ?? {};
    const rng = Rng.from(options.seed, this.id);
    const base = createModel(options.type.type, rng, this.intervalMs / 1000);
    this.model = withGenerators(base, options.type, fw.signals ?? [], rng, this.intervalMs / 1000);
    this.timing = Rng.from(options.seed, `${this.id}#timing`);
    const random = () => this.timing.next();
    this.backoff = new Backoff({ initialMs: 500, maxMs: 30_000, random });
    this.refusedBackoff = new Backoff({ initialMs: 15_000, maxMs: 300_000, random });
    this.clock = new DeviceClock(fw.rtc ?? true);
    this.commands = new CommandHandler(options.type, this.model, {
      setIntervalMs: (ms) => this.setIntervalMs(ms),
      identify: (s) => {
        this.identifyUntilMs = Date.now() + s * 1000;
      },
      otaUpdate: (id, version, sizeKb) => this.otaUpdate(id, version, sizeKb),
    });
  }

  /** Published, not yet acknowledged (or, after close(), never acknowledged). */
  get outstanding(): number {
    return this.pending.size + this.abandoned;
  }

  get queued(): number {
    return this.queue.length;
  }

  get interval(): number {
    return this.intervalMs;
  }

  get isOnline(): boolean {
    return this.online;
  }

  get clockSynced(): boolean {
    return this.clock.isSynced;
  }

  /** Connects after `delayMs` (staggered start); the first reading follows within one interval. */
  start(delayMs: number): void {
    this.options.scheduler.at(this, delayMs);
  }

  /** The fleet scheduler calls this: the first call boots the device, later ones take a reading. */
  runScheduled(): void {
    if (this.stopping || this.poweredOff) return;
    if (!this.started) {
      this.started = true;
      this.connect();
      this.options.scheduler.at(this, this.intervalMs * this.timing.uniform(0.5, 1));
      return;
    }
    this.tick();
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
    if (!this.clock.isSynced) {
      const boot = this.boots;
      setTimeout(() => {
        if (boot === this.boots && this.online && !this.poweredOff) this.clock.sync();
      }, this.options.firmware?.clock_sync_ms ?? 2_000).unref();
    }
    const ota = this.pendingOtaResult;
    if (ota) {
      this.pendingOtaResult = undefined;
      const result = this.commands.complete({
        id: ota.id,
        status: "succeeded",
        result: { version: ota.version, previous_version: ota.previous },
      });
      client.publish(topicFor(plan.deviceId, "command-result"), encodeCommandResult(result), { qos: 1 });
    }
    // The retry queue drains in order, before the next live reading.
    const queued = this.queue;
    this.queue = [];
    for (const r of queued) this.publish(client, r);
  }

  private onClose(client: MqttClient): void {
    const { counters } = this.options;
    if (this.online) {
      this.online = false;
      counters.connected -= 1;
      counters.disconnects += 1;
    }
    if (this.stopping || this.poweredOff || this.reconnectTimer || client !== this.client) return;
    let delay = this.refused ? this.refusedBackoff.next() : this.backoff.next();
    if (this.stormReconnect) delay = 0; // a storm: everyone back at the same moment
    delay = Math.max(delay, this.offlineUntil - Date.now());
    this.refused = false;
    this.stormReconnect = false;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping || this.poweredOff) return;
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
    if (result === PENDING) return;
    if (!result || result.status === "failed") counters.commandsFailed += 1;
    if (result) client.publish(topicFor(plan.deviceId, "command-result"), encodeCommandResult(result), { qos: 1 });
  }

  private setIntervalMs(ms: number): void {
    this.intervalMs = ms;
    if (this.started && !this.stopping && !this.poweredOff) this.options.scheduler.at(this, ms);
  }

  private tick(): void {
    const { scheduler, counters, firmware } = this.options;
    scheduler.at(this, this.intervalMs * (1 + this.timing.uniform(-JITTER, JITTER)));
    const ts = this.clock.stamp();
    if (!this.clock.isSynced) counters.unsyncedReadings += 1;
    // The physics run on real time; only the stamp shows what the device's clock believes.
    const values = this.model.sample(Date.now());
    const client = this.client;
    if (!client || !this.online || !client.connected) {
      const limit = firmware?.offline_queue ?? 0;
      if (limit === 0) {
        counters.skippedOffline += 1;
        return;
      }
      this.n += 1;
      this.queue.push({ n: this.n, ts, values });
      counters.queued += 1;
      if (this.queue.length > limit) {
        this.queue.shift();
        counters.droppedQueueFull += 1;
      }
      return;
    }
    this.n += 1;
    this.publish(client, { n: this.n, ts, values });
  }

  private publish(client: MqttClient, r: Reading): void {
    const { plan, qos, counters, firmware } = this.options;
    this.pending.set(r.n, performance.now());
    counters.sent += 1;
    const topic = topicFor(plan.deviceId, "telemetry");
    const payload = telemetryPayload(r.values, r.ts, firmware?.payload_bytes ?? 0);
    client.publish(topic, payload, { qos }, (err) => this.settle(r, err));
    if (this.duplicateNext || Date.now() < this.duplicateUntil) {
      // The same reading again, as a second PUBLISH with its own packet id: a firmware retry bug.
      this.duplicateNext = false;
      counters.duplicatesSent += 1;
      client.publish(topic, payload, { qos }, (err) => {
        if (!err) counters.duplicatesAcked += 1;
      });
    }
  }

  /** Called once per publish by mqtt.js (PUBACK, or write done for QoS 0); guarded so a line is written once. */
  private settle(r: Reading, err: Error | undefined): void {
    const sentAt = this.pending.get(r.n);
    if (sentAt === undefined) return;
    this.pending.delete(r.n);
    const { counters, ackedLog, plan } = this.options;
    if (err) {
      counters.publishFailures += 1;
      counters.errors += 1;
      return;
    }
    counters.acked += 1;
    counters.recordLatency(performance.now() - sentAt);
    ackedLog.write({ deviceId: plan.deviceId, n: r.n, ts: r.ts, values: r.values });
  }

  // ---- failures (failures.ts) ----

  networkFlap(offMs: number): void {
    if (!this.online || this.poweredOff) return;
    this.offlineUntil = Date.now() + offMs;
    this.options.counters.flaps += 1;
    this.client?.stream.destroy();
  }

  dropForStorm(): void {
    if (!this.online || this.poweredOff) return;
    this.stormReconnect = true;
    this.client?.stream.destroy();
  }

  duplicateFor(ms: number): void {
    if (ms > 0) this.duplicateUntil = Date.now() + ms;
    else this.duplicateNext = true;
  }

  publishMalformed(kind: Malformation): void {
    const client = this.client;
    const { counters, qos, plan } = this.options;
    if (!client?.connected) return;
    counters.malformedSent += 1;
    const payload = malformedPayload(kind, this.options.type, this.clock.stamp());
    client.publish(topicFor(plan.deviceId, "telemetry"), payload, { qos }, (err) => {
      if (!err) counters.malformedAcked += 1;
    });
  }

  jumpClock(ms: number): void {
    this.clock.jump(ms);
    this.options.counters.clockJumps += 1;
  }

  /** Power cut: the socket dies without DISCONNECT (the will fires); RAM is lost unless persisted. */
  powerCycle(offMs: number): void {
    const persist = this.options.firmware?.persist_queue ?? false;
    this.restart(offMs, persist);
    this.options.counters.powerCycles += 1;
  }

  /** The socket stops being read for `ms`: PUBACKs and commands pile up in the broker and the kernel. */
  slowConsumer(ms: number): void {
    const stream = this.client?.stream;
    if (!stream || this.poweredOff) return;
    stream.pause();
    this.options.counters.slowConsumers += 1;
    setTimeout(() => stream.resume(), ms).unref();
  }

  private restart(offMs: number, persist: boolean): void {
    if (this.poweredOff || this.stopping || !this.started) return;
    const { counters, scheduler } = this.options;
    this.poweredOff = true;
    scheduler.cancel(this);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (!persist) {
      counters.lostPowerCycle += this.pending.size + this.queue.length;
      this.pending.clear();
      this.queue = [];
    }
    this.clock.powerLoss();
    if (client) {
      client.stream.destroy();
      if (!persist) {
        // A new boot has a new client and empty stores: what was in RAM is gone.
        client.removeAllListeners("connect");
        client.removeAllListeners("message");
        client.end(true);
        this.client = undefined;
      }
    }
    setTimeout(() => this.boot(), offMs).unref();
  }

  private boot(): void {
    if (this.stopping) return;
    this.poweredOff = false;
    this.boots += 1;
    const client = this.client;
    if (client) {
      this.backoff.reset();
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    } else this.connect();
    this.options.scheduler.at(this, this.intervalMs * this.timing.uniform(0.5, 1));
  }

  private otaUpdate(id: string, version: string, sizeKb: number): void {
    const { plan, counters } = this.options;
    counters.otaUpdates += 1;
    const totalMs = (sizeKb / OTA_KB_PER_S) * 1000;
    const steps = 4;
    for (let i = 1; i <= steps; i++) {
      setTimeout(
        () => {
          const progress = Math.round((i / steps) * 100);
          // Progress on the status topic, QoS 0 and not retained: `online`/`offline` stay the retained presence.
          this.client?.publish(topicFor(plan.deviceId, "status"), JSON.stringify({ state: "updating", version, progress }), { qos: 0 });
          if (i === steps) {
            this.pendingOtaResult = { id, version, previous: this.firmwareVersion };
            this.firmwareVersion = version;
            // The reboot into the new image: its queue is flushed to flash first, so nothing is lost.
            setTimeout(() => this.restart(OTA_REBOOT_MS, true), 50).unref();
          }
        },
        (totalMs * i) / steps,
      ).unref();
    }
  }

  /** Stops readings and reconnects; outstanding PUBACKs may still arrive until close(). */
  halt(): void {
    this.stopping = true;
    this.options.scheduler.cancel(this);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
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
    // Published but never acknowledged; readings still in the retry queue were never sent at all.
    this.abandoned = this.pending.size;
    this.pending.clear();
    this.queue = [];
  }
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
