/**
 * The aedes hooks that make the broker ours: per-device authentication, the topic ACL, and
 * telemetry processing inside `authorizePublish`, so the PUBACK waits for the outbox commit
 * (DESIGN.md §3 promise 1: aedes writes the PUBACK only after this callback, see
 * aedes/lib/handlers/publish.js `enqueuePublish`).
 */

import type { Logger } from "@bitvelocity/common";
import { verifySecret } from "@bitvelocity/common";
import {
  type CommandResultMessage,
  type DeviceType,
  decodeCommandResult,
  isFilterWithinDevice,
  type ParsedTopic,
  parseTopic,
} from "@bitvelocity/devices";
import type { AedesOptions, AuthenticateError, Client, PublishPacket, Subscription } from "aedes";
import { normalizeTelemetry } from "../pipeline/normalize.js";
import { type ReadingSink, whenQueued } from "../pipeline/sink.js";
import type { DeviceDirectory } from "./directory.js";
import type { DirectPublish } from "./guard/direct.js";
import type { BrokerMetrics } from "./metrics.js";

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3 (Table 3.1).
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** The device id a verified TLS client certificate names (its CN), if the connection has one. */
function certificateIdentity(client: Client): string | undefined {
  return (client.conn as { certIdentity?: string } | undefined)?.certIdentity;
}

export interface HookDeps {
  readonly directory: DeviceDirectory;
  readonly sink: ReadingSink;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  readonly onCommandResult: (deviceId: string, result: CommandResultMessage) => void;
  readonly now?: () => number;
}

type Hooks = Required<Pick<AedesOptions, "authenticate" | "authorizePublish" | "authorizeSubscribe">>;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export function createHooks(deps: HookDeps): Hooks & { readonly direct: DirectPublish } {
  const { directory, sink, metrics, logger } = deps;
  const now = deps.now ?? Date.now;

  const refuse = (reason: string, code: number, done: (err: AuthenticateError | null, ok: boolean | null) => void) => {
    metrics.authFailures.inc({ reason });
    done(authError(code, `connection refused: ${reason.replaceAll("_", " ")}`), null);
  };

  const authenticate: Hooks["authenticate"] = (client, username, password, done) => {
    const identity = certificateIdentity(client);
    if (identity !== undefined) {
      // Mutual TLS: the certificate is the credential; it names exactly one device.
      if (client.id !== identity) return refuse("certificate_mismatch", NOT_AUTHORIZED, done);
      if (!directory.get(identity)) return refuse("unknown_device", NOT_AUTHORIZED, done);
      return done(null, true);
    }
    if (!username) return refuse("no_username", BAD_USERNAME_OR_PASSWORD, done);
    if (client.id !== username) return refuse("client_id_mismatch", IDENTIFIER_REJECTED, done);
    const device = directory.get(username);
    if (!device) return refuse("unknown_device", BAD_USERNAME_OR_PASSWORD, done);
    if (!password || !verifySecret(password.toString("utf8"), device.config.secret_hash)) {
      return refuse("bad_password", BAD_USERNAME_OR_PASSWORD, done);
    }
    done(null, true);
  };

  // Parsed topics of configured devices (at most one per kind and device, so the map is bounded);
  // anything else is parsed each time.
  const parsedTopics = new Map<string, ParsedTopic>();
  const topicOf = (name: string): ParsedTopic | undefined => {
    const known = parsedTopics.get(name);
    if (known) return known;
    const parsed = parseTopic(name);
    if (parsed && directory.get(parsed.deviceId)) parsedTopics.set(name, parsed);
    return parsed;
  };

  const busy = () => metrics.throttled.inc({ limit: "outbox_busy" });

  const deny = (action: "publish" | "subscribe", message: string): Error => {
    metrics.aclDenied.inc({ action });
    return new Error(message);
  };

  /** A reading's commit ended: counted and acknowledged, or not acknowledged (the device is disconnected and retries; nothing acked is lost). */
  const settleReading = (err: Error | null, deviceId: string, done: (err: Error | null) => void): void => {
    if (!err) {
      metrics.readingsAccepted.inc();
      done(null);
      return;
    }
    logger.warn({ err, deviceId }, "reading not committed; disconnecting the device");
    done(err);
  };

  /** A device's telemetry, committed to the outbox (or dead-lettered) before `done`. */
  const telemetry = (
    deviceId: string,
    deviceType: DeviceType,
    topicName: string,
    payload: Buffer,
    awaited: boolean,
    done: (err: Error | null) => void,
  ) => {
    const normalized = normalizeTelemetry(deviceId, deviceType, topicName, payload);
    if (normalized.ok && sink.appendNow) {
      sink.appendNow(normalized.reading, (err) => settleReading(err, deviceId, done), busy, awaited);
    } else if (normalized.ok) {
      const reading = normalized.reading;
      // A full commit queue is not the device's fault: the reading waits here (its slot in the
      // broker's window stays taken, so the device's socket stays paused) and is appended again.
      whenQueued(
        () => sink.append(reading),
        () => settleReading(null, deviceId, done),
        (err) => settleReading(err, deviceId, done),
        busy,
      );
    } else {
      logger.debug({ deviceId, reason: normalized.deadLetter.reason }, "telemetry dead-lettered");
      // Acknowledged once recorded, so the device does not retry a poison message forever.
      const deadLetter = normalized.deadLetter;
      whenQueued(
        () => sink.deadLetter(deadLetter),
        () => done(null),
        (err) => done(err),
        busy,
      );
    }
  };

  const authorizePublish: Hooks["authorizePublish"] = (client: Client | null, packet: PublishPacket, done) => {
    const topic = topicOf(packet.topic);
    if (!client) {
      // A will left by a session that is gone: only a device's status topic may carry one.
      return done(topic?.kind === "status" ? null : deny("publish", `will on ${packet.topic} refused`));
    }
    if (!topic || topic.deviceId !== client.id) return done(deny("publish", `${client.id} may not publish to ${packet.topic}`));
    const device = directory.get(client.id);
    if (!device) return done(deny("publish", `${client.id} is not a configured device`));
    directory.seen(client.id, now());
    const payload = packet.payload as Buffer;
    switch (topic.kind) {
      case "command":
        return done(deny("publish", `${client.id} may not publish commands`));
      case "status":
        return done(null);
      case "command-result": {
        const decoded = decodeCommandResult(payload);
        if (decoded.ok) deps.onCommandResult(client.id, decoded.value);
        else metrics.commandResultsInvalid.inc();
        return done(null);
      }
      case "telemetry":
        return telemetry(client.id, device.type, packet.topic, payload, packet.qos > 0, done);
    }
  };

  const authorizeSubscribe: Hooks["authorizeSubscribe"] = (client, subscription: Subscription, done) => {
    if (isFilterWithinDevice(subscription.topic, client.id)) return done(null, subscription);
    deny("subscribe", `${client.id} may not subscribe to ${subscription.topic}`);
    // A null subscription is refused with SUBACK return code 0x80 [MQTT-3.9.3-2].
    done(null, null);
  };

  /**
   * A device's own telemetry, handled straight from the pre-parser's frame (guard/direct.ts): the
   * same checks and the same commit as `authorizePublish`, without aedes.
   */
  const direct: DirectPublish = {
    takes(clientId, topicName) {
      const topic = topicOf(topicName);
      return topic?.kind === "telemetry" && topic.deviceId === clientId && directory.get(clientId) !== undefined;
    },
    handle(clientId, topicName, payload, awaited, done) {
      const device = directory.get(clientId);
      // Removed from the configuration while this PUBLISH waited: refused as aedes would.
      if (!device) return done(deny("publish", `${clientId} is not a configured device`));
      directory.seen(clientId, now());
      telemetry(clientId, device.type, topicName, payload, awaited, done);
    },
  };

  return { authenticate, authorizePublish, authorizeSubscribe, direct };
}
