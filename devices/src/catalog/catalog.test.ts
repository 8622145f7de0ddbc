import { describe, expect, it } from "vitest";
import { catalog } from "./index.js";

const WIDTH = { int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, bool: 1 } as const;

describe("device catalog", () => {
  it("covers the six mission device types", () => {
    expect([...catalog.keys()].sort()).toEqual(
      ["cold-chain-tracker", "env-sensor", "packaging-plc", "power-meter", "smart-shelf", "valve-actuator"].sort(),
    );
  });

  for (const type of catalog.values()) {
    describe(type.type, () => {
      it("has well-formed metrics", () => {
        expect(type.metrics.length).toBeGreaterThan(0);
        const names = new Set<string>();
        for (const m of type.metrics) {
          expect(names.has(m.name), `duplicate metric ${m.name}`).toBe(false);
          names.add(m.name);
          expect(m.name).toMatch(/^[a-z][a-z0-9_]*$/);
          if (m.type === "number" || m.type === "integer") {
            expect(m.min, `${m.name} min`).toBeTypeOf("number");
            expect(m.max, `${m.name} max`).toBeTypeOf("number");
            expect(m.min!).toBeLessThan(m.max!);
            if (m.normal) {
              expect(m.normal.min).toBeGreaterThanOrEqual(m.min!);
              expect(m.normal.max).toBeLessThanOrEqual(m.max!);
            }
          }
          if (m.type === "enum") expect(m.values?.length).toBeGreaterThan(1);
        }
      });

      it("has commands whose parameters have types and ranges", () => {
        for (const c of type.commands) {
          for (const p of c.params) {
            if (p.type === "number" || p.type === "integer") expect(p.min!).toBeLessThan(p.max!);
          }
        }
      });

      it("maps protocols to known metrics without overlapping registers", () => {
        const metrics = new Set(type.metrics.map((m) => m.name));
        for (const r of type.protocols.modbus?.registers ?? []) expect(metrics.has(r.metric), r.metric).toBe(true);
        for (const n of type.protocols.opcua?.nodes ?? []) expect(metrics.has(n.metric), n.metric).toBe(true);
        const used = new Map<string, string>();
        for (const r of type.protocols.modbus?.registers ?? []) {
          for (let i = 0; i < WIDTH[r.dataType]; i++) {
            const key = `${r.table}:${r.address + i}`;
            expect(used.get(key), `${r.metric} overlaps ${used.get(key)} at ${key}`).toBeUndefined();
            used.set(key, r.metric);
          }
        }
      });
    });
  }

  it("gives the power meter a Modbus map and the PLC OPC UA nodes", () => {
    expect(catalog.get("power-meter")?.protocols.modbus?.registers.length).toBeGreaterThan(3);
    expect(catalog.get("packaging-plc")?.protocols.opcua?.nodes.length).toBeGreaterThan(3);
    expect(catalog.get("valve-actuator")?.commands.map((c) => c.name)).toContain("set_position");
  });
});
