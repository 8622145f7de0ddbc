/** The edge config's `connectors:` list: the example is valid, and bad entries list every problem. */
import { join } from "node:path";
import { configProblems, hashSecret } from "@bitvelocity/common";
import { describe, expect, it } from "vitest";
import { loadEdgeConfig } from "../config.js";

const base = { edge_id: "e", "uplink.token": "t" };

describe("connectors config", () => {
  it("connectors.example.yaml is valid", () => {
    const config = loadEdgeConfig(join(import.meta.dirname, "../../connectors.example.yaml"), { BV_EDGE_TOKEN: "t" });
    expect(config.connectors.map((c) => [c.type, c.id, c.devices.map((d) => d.id)])).toEqual([
      ["opcua", "line-1-plc", ["plc-1"]],
      ["modbus-rtu", "meters-rs485", ["meter-1", "meter-2"]],
      ["modbus-tcp", "meters-tcp", ["meter-3"]],
    ]);
  });

  it("lists every problem: unknown type, clashing ids, unknown device type, bad endpoint", () => {
    const problems = configProblems(() =>
      loadEdgeConfig(
        undefined,
        {},
        {
          ...base,
          devices: [{ id: "d1", type: "env-sensor", secret_hash: hashSecret("x") }],
          connectors: [
            { type: "profibus", id: "p" },
            { type: "modbus-tcp", id: "m", host: "h", devices: [{ id: "d1", type: "power-meter", unit_id: 1 }] },
            { type: "opcua", id: "m", endpoint: "tcp://x", devices: [{ id: "o1", type: "no-such-type" }] },
          ],
        },
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^connectors\.0\.type: .*opcua, modbus-rtu, modbus-tcp/),
        expect.stringMatching(/^connectors\.2\.endpoint: expected opc\.tcp/),
        expect.stringMatching(/^connectors\.2\.devices\.0\.type: unknown device type "no-such-type"/),
      ]),
    );
  });

  it("refuses a connector device id that is also an MQTT device, and duplicate connector ids", () => {
    const problems = configProblems(() =>
      loadEdgeConfig(
        undefined,
        {},
        {
          ...base,
          devices: [{ id: "d1", type: "env-sensor", secret_hash: hashSecret("x") }],
          connectors: [
            { type: "modbus-tcp", id: "m", host: "h", devices: [{ id: "d1", type: "power-meter", unit_id: 1 }] },
            { type: "modbus-tcp", id: "m", host: "h2", devices: [{ id: "d2", type: "env-sensor", unit_id: 1 }] },
          ],
        },
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "connectors.0.devices.0.id: device id d1 is also in devices",
        "connectors.1.id: duplicate connector id m",
        "connectors.1.devices.0.registers: env-sensor has no Modbus register map; give registers",
      ]),
    );
  });
});
