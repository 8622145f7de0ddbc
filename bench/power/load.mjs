// QoS 1 load for the power-cut harness: `clients` real MQTT devices (the mqtt package), each
// keeping up to `window` PUBLISHes in flight. Every payload carries a unique device time (per
// device, strictly increasing), which is its identity in the cloud store. A reading counts as
// acknowledged only when its PUBACK callback fired. Devices reconnect every 200 ms while the VM is
// off; unacknowledged PUBLISHes stay in mqtt.js's outgoing store and are re-sent after a reconnect.
import { deriveDeviceSecret } from "@bitvelocity/common";
import { encodeTelemetry } from "@bitvelocity/devices";
import { createModel, Rng } from "@bitvelocity/firmware-sim";
import mqtt from "mqtt";

export class QosOneLoad {
  /** `${deviceId}@${ts}` → the values sent, for every PUBACKed reading. */
  acked = new Map();
  sent = 0;
  connects = 0;
  private = { stopping: false, clients: [] };

  constructor({ url, fleetSecret, deviceIds, window = 4 }) {
    this.url = url;
    this.fleetSecret = fleetSecret;
    this.deviceIds = deviceIds;
    this.window = window;
  }

  start() {
    for (const id of this.deviceIds) this.private.clients.push(this.startClient(id));
  }

  startClient(id) {
    const client = mqtt.connect(this.url, {
      protocolVersion: 4,
      clientId: id,
      username: id,
      password: deriveDeviceSecret(this.fleetSecret, id),
      clean: false,
      reconnectPeriod: 200,
      connectTimeout: 5000,
      keepalive: 10,
    });
    const model = createModel("env-sensor", Rng.from(7, id), 1);
    const topic = `bv/${id}/telemetry`;
    let ts = Date.now();
    let inFlight = 0;
    const pump = () => {
      while (!this.private.stopping && client.connected && inFlight < this.window) {
        ts = Math.max(ts + 1, Date.now());
        const values = model.sample(ts);
        const key = `${id}@${ts}`;
        inFlight += 1;
        this.sent += 1;
        client.publish(topic, encodeTelemetry(values, ts), { qos: 1 }, (err) => {
          inFlight -= 1;
          if (!err) this.acked.set(key, values);
          setImmediate(pump);
        });
      }
    };
    client.on("connect", () => {
      this.connects += 1;
      // Re-sent PUBLISHes from the outgoing store count against the window until acknowledged.
      setImmediate(pump);
    });
    client.on("error", () => undefined); // refused / timed out while the VM boots: mqtt.js retries
    return client;
  }

  connected() {
    return this.private.clients.filter((c) => c.connected).length;
  }

  /** Stops publishing and closes the sessions (what is still unacknowledged stays unacknowledged). */
  async stop() {
    this.private.stopping = true;
    await Promise.all(this.private.clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
}
