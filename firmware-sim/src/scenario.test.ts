import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configProblems, deriveDeviceSecret, verifySecret } from "@bitvelocity/common";
import { isValidDeviceId } from "@bitvelocity/devices";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { edgeDevicesYaml, provisionFleet } from "./provision.js";
import { loadScenario } from "./scenario.js";

const dir = mkdtempSync(join(tmpdir(), "bv-sim-scenario-"));
let counter = 0;
function file(text: string): string {
  counter += 1;
  const path = join(dir, `s${counter}.yaml`);
  writeFileSync(path, text);
  return path;
}

const problems = configProblems;

const good = `
version: 1
seed: 7
broker: { url: mqtt://broker.local:1883 }
fleet_secret: a-long-fleet-secret
fleets:
  - { type: env-sensor, count: 3, id_prefix: env-, interval_ms: 1000 }
  - { type: valve-actuator, count: 2 }
`;

describe("loadScenario", () => {
  it("applies defaults and the catalog's interval", () => {
    const s = loadScenario(file(good), {});
    expect(s.qos).toBe(1);
    expect(s.duration_s).toBe(0);
    expect(s.broker.url).toBe("mqtt://broker.local:1883");
    expect(s.fleets[1]).toEqual({
      type: "valve-actuator",
      count: 2,
      id_prefix: "valve-actuator-",
      interval_ms: 5000,
      payload_bytes: 0,
      signals: [],
      rtc: true,
      clock_sync_ms: 2000,
      offline_queue: 0,
      persist_queue: false,
    });
    expect(s.failures).toEqual([]);
    expect(s.processes).toBe(1);
  });

  it("takes the broker URL and fleet secret from the environment, and CLI overrides last", () => {
    const env = { BV_MQTT_URL: "mqtt://10.0.0.1:1884", BV_FLEET_SECRET: "from-the-environment" };
    const s = loadScenario(file(good), env, { seed: 99 });
    expect(s.broker.url).toBe("mqtt://10.0.0.1:1884");
    expect(s.fleet_secret).toBe("from-the-environment");
    expect(s.seed).toBe(99);
  });

  it("lists every problem at once: unknown type, bad count, unknown key", () => {
    const bad = `
version: 1
colour: blue
qos: 2
fleets:
  - { type: toaster, count: 3 }
  - { type: env-sensor, count: 0 }
  - { type: power-meter, count: 2.5, interval: 10 }
`;
    const list = problems(() => loadScenario(file(bad), {}));
    expect(list.some((p) => p.startsWith("fleets.0.type:") && p.includes("toaster"))).toBe(true);
    expect(list.some((p) => p.startsWith("fleets.1.count:"))).toBe(true);
    expect(list.some((p) => p.startsWith("fleets.2.count:"))).toBe(true);
    expect(list.some((p) => p.startsWith("fleets.2") && p.includes("interval"))).toBe(true);
    expect(list.some((p) => p.includes("colour"))).toBe(true);
    expect(list.some((p) => p.startsWith("qos:"))).toBe(true);
    expect(list.length).toBeGreaterThanOrEqual(6);
  });

  it("refuses duplicate id prefixes and prefixes that make invalid ids", () => {
    const bad = `
version: 1
fleets:
  - { type: env-sensor, count: 2, id_prefix: dev- }
  - { type: power-meter, count: 2, id_prefix: dev- }
  - { type: smart-shelf, count: 2, id_prefix: "bad/" }
`;
    const list = problems(() => loadScenario(file(bad), {}));
    expect(list.some((p) => p.startsWith("fleets.1.id_prefix:") && p.includes("dev-"))).toBe(true);
    expect(list.some((p) => p.startsWith("fleets.2.id_prefix:") && p.includes("not valid"))).toBe(true);
  });

  it("refuses a missing file, an empty fleet list and a short secret", () => {
    expect(problems(() => loadScenario(join(dir, "missing.yaml"), {}))[0]).toContain("cannot read");
    const list = problems(() => loadScenario(file("version: 1\nfleet_secret: short\nfleets: []\n"), {}));
    expect(list.some((p) => p.startsWith("fleets:"))).toBe(true);
    expect(list.some((p) => p.startsWith("fleet_secret:"))).toBe(true);
  });

  it("ships demo, load and faults scenarios that load", () => {
    const demo = loadScenario(new URL("../scenarios/demo.yaml", import.meta.url).pathname, {});
    expect(new Set(demo.fleets.map((f) => f.type)).size).toBe(6);
    const load = loadScenario(new URL("../scenarios/load.yaml", import.meta.url).pathname, {});
    expect(load.fleets.reduce((n, f) => n + f.count, 0)).toBeGreaterThanOrEqual(300);
    const faults = loadScenario(new URL("../scenarios/faults.yaml", import.meta.url).pathname, {});
    expect(new Set(faults.failures.map((f) => f.kind)).size).toBe(7);
    expect(faults.fleets[2]?.signals.map((g) => g.kind)).toEqual(["gps_route", "sine"]);
  });
});

describe("provisionFleet", () => {
  it("numbers devices from 1, zero-padded, with derived secrets", () => {
    const devices = provisionFleet(loadScenario(file(good), {}));
    expect(devices.map((d) => d.deviceId)).toEqual(["env-0001", "env-0002", "env-0003", "valve-actuator-0001", "valve-actuator-0002"]);
    for (const d of devices) {
      expect(isValidDeviceId(d.deviceId)).toBe(true);
      expect(d.secret).toBe(deriveDeviceSecret("a-long-fleet-secret", d.deviceId));
    }
    expect(new Set(devices.map((d) => d.secret)).size).toBe(devices.length);
  });

  it("writes an edge devices file holding only hashes that verify", () => {
    const devices = provisionFleet(loadScenario(file(good), {}));
    const text = edgeDevicesYaml(devices);
    for (const d of devices) expect(text).not.toContain(d.secret);
    const doc = parseYaml(text) as { version: number; devices: { id: string; type: string; name: string; secret_hash: string }[] };
    expect(doc.version).toBe(1);
    expect(doc.devices.map((d) => d.id)).toEqual(devices.map((d) => d.deviceId));
    doc.devices.forEach((entry, i) => {
      const d = devices[i]!;
      expect(entry.type).toBe(d.deviceType);
      expect(entry.name).toBe(d.name);
      expect(verifySecret(d.secret, entry.secret_hash)).toBe(true);
      expect(verifySecret(`${d.secret}x`, entry.secret_hash)).toBe(false);
    });
    expect(parseYaml(edgeDevicesYaml([]))).toEqual({ version: 1, devices: [] });
  });
});
