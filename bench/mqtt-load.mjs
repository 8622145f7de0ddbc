// Closed-loop MQTT load for the broker comparison (bench/broker-compare.mjs): CLIENTS devices,
// each keeping WINDOW QoS 1 messages in flight (QoS 0: writes as fast as the socket drains), for
// SECONDS. Payloads are real env-sensor telemetry from the simulator's model, so the edge broker
// validates and commits them like any reading. Run as its own process so its CPU is measured apart:
//   node bench/mqtt-load.mjs '{"url":"mqtt://127.0.0.1:1883","clients":50,"window":10,"qos":1,"seconds":10,"fleetSecret":"…"}'
// Prints {"phase":"measuring"} and {"phase":"done"} around its measurement window, then one JSON line:
// {sent, acked, disconnects, seconds, ackedPerS, latencyMs: {p50, p99}}.
import { deriveDeviceSecret } from "@bitvelocity/common";
import { encodeTelemetry } from "@bitvelocity/devices";
import { createModel, Rng } from "@bitvelocity/firmware-sim";
import mqtt from "mqtt";

const cfg = JSON.parse(process.argv[2] ?? "{}");
const { url, clients = 50, window = 10, qos = 1, seconds = 10, fleetSecret = "", idPrefix = "env-", warmupS = 1 } = cfg;

const latencies = [];
let sent = 0;
let acked = 0;
let disconnects = 0;
let measuring = false;
let stopping = false;

function deviceId(i) {
  return `${idPrefix}${String(i + 1).padStart(4, "0")}`;
}

async function startClient(i) {
  const id = deviceId(i);
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    clientId: id,
    username: id,
    password: deriveDeviceSecret(fleetSecret, id),
    clean: true,
    // A broker may drop a client (e.g. one whose reading it could not commit): come back and go on.
    reconnectPeriod: 100,
    keepalive: 30,
  });
  // Errors while (re)connecting (refused, CONNACK timed out) are retried by mqtt.js; the counts show the damage.
  client.on("error", () => undefined);
  client.on("close", () => {
    if (!stopping) disconnects += 1;
  });
  await new Promise((resolve) => client.once("connect", resolve));
  const model = createModel("env-sensor", Rng.from(1, id), 1);
  const topic = `bv/${id}/telemetry`;
  let ts = Date.now();
  const payload = () => {
    ts = Math.max(ts + 1, Date.now());
    return encodeTelemetry(model.sample(ts), ts);
  };
  if (qos === 1) {
    const one = () => {
      if (stopping) return;
      const t0 = performance.now();
      sent += 1;
      client.publish(topic, payload(), { qos: 1 }, (err) => {
        if (err) return;
        if (measuring) {
          acked += 1;
          if (latencies.length < 200_000) latencies.push(performance.now() - t0);
        }
        one();
      });
    };
    for (let w = 0; w < window; w++) one();
  } else {
    // QoS 0: keep the socket busy but never buffer unboundedly: wait for 'drain' when it is full.
    const pump = () => {
      while (!stopping) {
        sent += 1;
        if (measuring) acked += 1;
        client.publish(topic, payload(), { qos: 0 });
        if (!client.connected) return; // resumed by the next 'connect'
        if (client.stream.writableNeedDrain) {
          client.stream.once("drain", pump);
          return;
        }
        if (sent % 64 === 0) {
          setImmediate(pump);
          return;
        }
      }
    };
    pump();
    client.on("connect", pump);
  }
  return client;
}

const all = await Promise.all(Array.from({ length: clients }, (_, i) => startClient(i)));
await new Promise((r) => setTimeout(r, warmupS * 1000));
measuring = true;
process.stdout.write(`${JSON.stringify({ phase: "measuring" })}\n`); // the bench starts its own window now
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
process.stdout.write(`${JSON.stringify({ phase: "done" })}\n`);
const elapsed = (performance.now() - t0) / 1000;
stopping = true;
await Promise.all(all.map((c) => c.endAsync(true).catch(() => undefined)));
latencies.sort((a, b) => a - b);
const pct = (p) =>
  latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] * 100) / 100 : null;
process.stdout.write(
  `${JSON.stringify({ sent, acked, disconnects, seconds: Math.round(elapsed * 100) / 100, ackedPerS: Math.round(acked / elapsed), latencyMs: { p50: pct(50), p99: pct(99) } })}\n`,
);
process.exit(0);
