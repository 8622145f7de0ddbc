/**
 * The contract every connector passes (after aedes-persistence's abstract suite): run it from
 * each protocol's test with a real peer. What it holds: values arrive and fit the catalog, a
 * mapped command succeeds, a command for a device it does not own fails with a code, values
 * flow again after the peer restarts, and nothing arrives after stop().
 */
import { type MetricValue, validateValues } from "@bitvelocity/devices";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "./connector.js";
import { RecordingSink, waitUntil } from "./test-support.js";

export interface ContractSetup {
  readonly connector: Connector;
  readonly deviceId: string;
  readonly command: { readonly name: string; readonly params: Record<string, MetricValue> };
  restartPeer(): Promise<void>;
  close(): Promise<void>;
}

export function connectorContract(name: string, setup: () => Promise<ContractSetup | undefined>, skipReason?: string): void {
  describe.skipIf(skipReason !== undefined)(`connector contract: ${name}${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
    let s: ContractSetup;
    const sink = new RecordingSink();
    const abort = new AbortController();

    beforeAll(async () => {
      const made = await setup();
      if (!made) throw new Error("setup gave no connector");
      s = made;
      await s.connector.start(sink, abort.signal);
    }, 60_000);

    afterAll(async () => {
      abort.abort();
      await s?.connector.stop();
      await s?.close();
    });

    it("delivers values that fit the device's catalog type", async () => {
      await waitUntil("values", () => sink.count(s.deviceId) >= 2, 20_000);
      const device = s.connector.devices.find((d) => d.id === s.deviceId);
      expect(device).toBeDefined();
      for (const r of sink.readings.filter((x) => x.deviceId === s.deviceId)) {
        expect(validateValues(device!.type, r.values)).toHaveProperty("values");
      }
      expect(s.connector.status().connected).toBe(true);
      expect(sink.presenceLog).toContainEqual(expect.objectContaining({ deviceId: s.deviceId, online: true }));
    });

    it("carries out a mapped command", async () => {
      const outcome = await s.connector.write?.({ commandId: "c-1", deviceId: s.deviceId, ...s.command });
      expect(outcome).toEqual(expect.objectContaining({ status: "succeeded" }));
    });

    it("fails a command for a device it does not own, with a code", async () => {
      const outcome = await s.connector.write?.({ commandId: "c-2", deviceId: "not-mine", name: s.command.name, params: {} });
      expect(outcome).toEqual(expect.objectContaining({ status: "failed", code: expect.any(String) }));
    });

    it("fails an unmapped command with a code", async () => {
      const outcome = await s.connector.write?.({ commandId: "c-3", deviceId: s.deviceId, name: "no_such_command", params: {} });
      expect(outcome).toEqual(expect.objectContaining({ status: "failed", code: expect.any(String) }));
    });

    it("delivers values again after the peer restarts", async () => {
      await s.restartPeer();
      const since = Date.now();
      await waitUntil("values after the restart", () => sink.count(s.deviceId, since) > 0, 15_000);
    }, 30_000);

    it("delivers nothing after stop()", async () => {
      await s.connector.stop();
      await new Promise((r) => setTimeout(r, 50));
      const n = sink.count();
      await new Promise((r) => setTimeout(r, 1000));
      expect(sink.count()).toBe(n);
      expect(s.connector.status().connected).toBe(false);
    });
  });
}
