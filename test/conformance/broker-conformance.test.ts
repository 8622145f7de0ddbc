// MQTT broker conformance (issue 8): the vectors in test/conformance/mqtt/ (Eclipse Mosquitto's
// test data, see its README) run against our edge broker — the real code path: pre-parser,
// limits, aedes — with the open access policy, and in the same run against Mosquitto on
// 127.0.0.1:1883. Writes the per-file table to $BV_ARTIFACTS_DIR (default test-artifacts/).
// Regression guard: on MQTT 3.1 + 3.1.1 we pass at least as many vectors as Mosquitto.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@bitvelocity/common";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttBroker } from "../../edge/src/broker/broker.js";
import {
  failures,
  loadVectors,
  runVectors,
  type TestResult,
  table,
  tally as tallyOf,
  totalFor,
} from "../../edge/src/broker/conformance/index.js";
import { defaultBrokerLimits } from "../../edge/src/broker/limits.js";
import { openPolicy } from "../../edge/src/broker/policy.js";
import { missingService, reachable } from "../e2e/support.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const ARTIFACTS = process.env.BV_ARTIFACTS_DIR ?? join(ROOT, "test-artifacts");
const MOSQUITTO = { host: "127.0.0.1", port: Number(process.env.BV_MOSQUITTO_PORT ?? 1883) };
// All versions by default (MQTT 5 against Mosquitto costs about a minute of timeouts).
const VERSIONS = (process.env.BV_CONFORMANCE_VERSIONS ?? "3,4,5").split(",").map(Number);
const tests = loadVectors(join(ROOT, "test/conformance/mqtt")).filter((t) => VERSIONS.includes(t.ver));

let broker: MqttBroker;
let port: number;

beforeAll(async () => {
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices: [],
    sink: { append: async () => undefined, deadLetter: async () => undefined } as never,
    registry: new Registry(),
    logger: silentLogger(),
    policy: openPolicy,
    // The vectors use their test names (up to 114 bytes) as client ids; device ids stop at 64.
    limits: { ...defaultBrokerLimits, max_client_id_length: 65_535 },
  });
  port = (await broker.start()).mqtt;
});

afterAll(async () => {
  await broker?.stop();
});

describe("MQTT conformance vectors", () => {
  it("ours passes at least as many 3.1 / 3.1.1 vectors as Mosquitto", { timeout: 240_000 }, async () => {
    const skip = missingService(`Mosquitto on ${MOSQUITTO.host}:${MOSQUITTO.port}`, await reachable(MOSQUITTO));
    // The two brokers share nothing, so they run side by side; each runs its vectors in order.
    const [ours, mosquitto] = await Promise.all([
      runVectors({ host: "127.0.0.1", port }, tests, { timeoutMs: 500 }),
      skip ? Promise.resolve([] as TestResult[]) : runVectors(MOSQUITTO, tests, { timeoutMs: 500 }),
    ]);

    const brokers = [
      { name: "edge broker (aedes + guard)", results: ours },
      ...(skip ? [] : [{ name: "Mosquitto 127.0.0.1:1883", results: mosquitto }]),
    ];
    const report = `${table(brokers)}\n\nFailures, edge broker:\n${failures(ours).join("\n")}\n\nFailures, Mosquitto:\n${failures(mosquitto).join("\n")}\n`;
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, "mqtt-conformance.md"), report);
    console.log(table(brokers));

    const oursV3 = totalFor(tallyOf(ours), [3, 4]);
    expect(oursV3.total).toBeGreaterThan(300);
    if (!skip) {
      const theirs = totalFor(tallyOf(mosquitto), [3, 4]);
      expect(
        oursV3.pass,
        `ours ${oursV3.pass} vs Mosquitto ${theirs.pass}; failures:\n${failures(ours).join("\n")}`,
      ).toBeGreaterThanOrEqual(theirs.pass);
    }
  });
});
