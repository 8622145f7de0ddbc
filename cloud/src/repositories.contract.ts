/**
 * The repository contract (STYLE.md): users, sessions, the fleet registry's persisted state and
 * commands behave the same on every relational engine. Call it with a factory that opens a
 * fresh, migrated, empty database; it runs against SQLite and PostgreSQL (repositories.test.ts).
 */
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommandService, FleetRegistry } from "./fleet/index.js";
import type { FleetTables } from "./fleet/tables.js";
import { SessionStore, UserStore } from "./identity/index.js";
import type { Database } from "./platform/database.js";
import { EventBus } from "./platform/event-bus.js";
import { InProcessTransport, OutboxRelay } from "./platform/event-outbox.js";

export interface DatabaseFactory {
  open(): Promise<Database>;
  /** Opens the same database again (a restart). */
  reopen(): Promise<Database>;
  cleanup?(): Promise<void>;
}

const SITES = [{ id: "site-1", name: "Plant 1" }];
const EDGES = [{ id: "edge-1", siteId: "site-1", name: "Line edge" }];

export function repositoryContract(name: string, factory: DatabaseFactory): void {
  describe(`repository contract: ${name}`, () => {
    let db: Database;
    beforeEach(async () => {
      db = await factory.open();
    });
    afterEach(async () => {
      await db.destroy();
      await factory.cleanup?.();
    });

    /** The fleet as a restarted cloud loads it: a new registry on a reopened database. */
    async function reloadedFleet(check: (fleet: FleetRegistry) => void): Promise<void> {
      const again = await factory.reopen();
      try {
        const reloaded = new FleetRegistry(again, new EventBus(), SITES, EDGES, silentLogger());
        await reloaded.start(60_000);
        check(reloaded);
        await reloaded.stop();
      } finally {
        await again.destroy();
      }
    }

    it("upserts and verifies users, and knows whether an admin exists", async () => {
      const users = new UserStore(db);
      expect(await users.hasAdmin()).toBe(false);
      await users.upsert("alice", "operator", hashSecret("pw-1", "scrypt"), "api");
      await users.upsert("alice", "admin", hashSecret("pw-2", "scrypt"), "config");
      expect(await users.verify("alice", "pw-1")).toBeUndefined();
      expect(await users.verify("alice", "pw-2")).toEqual({ username: "alice", role: "admin" });
      expect(await users.hasAdmin()).toBe(true);
      expect(await users.find("nobody")).toBeUndefined();
    });

    it("creates, resolves, expires and purges sessions with numeric times", async () => {
      const users = new UserStore(db);
      await users.upsert("alice", "operator", hashSecret("pw", "scrypt"), "api");
      const sessions = new SessionStore(db, 60_000);
      const s = await sessions.create({ username: "alice", role: "operator" });
      expect(await sessions.resolve(s.token)).toEqual({ username: "alice", role: "operator" });
      const expired = await new SessionStore(db, -1).create({ username: "alice", role: "operator" });
      expect(await sessions.resolve(expired.token)).toBeUndefined();
      expect(await sessions.purgeExpired()).toBe(1);
      await sessions.delete(s.token);
      expect(await sessions.resolve(s.token)).toBeUndefined();
    });

    it("persists fleet state and reloads it after a restart", async () => {
      const bus = new EventBus();
      const fleet = new FleetRegistry(db, bus, SITES, EDGES, silentLogger());
      await fleet.start(60_000);
      bus.emit("edgeConnected", {
        edgeId: "edge-1",
        siteId: "site-1",
        bootId: "boot-1",
        agentVersion: "1.2.3",
        clockOffsetMs: -42,
        connectedAt: 1_700_000_000_000,
        devices: [{ deviceId: "valve-1", deviceType: "valve-actuator", name: "Valve", online: true, lastSeenMs: 1_700_000_000_000 }],
      });
      bus.emit("readingsCommitted", {
        edgeId: "edge-1",
        siteId: "site-1",
        replay: true,
        readings: [{ seq: 1, deviceId: "valve-1", deviceType: "valve-actuator", ts: 1_700_000_001_000, values: { position: 40 } }],
      });
      await fleet.flush();
      await fleet.stop();
      await reloadedFleet((reloaded) => {
        expect(reloaded.edge("edge-1")).toMatchObject({ bootId: "boot-1", agentVersion: "1.2.3", clockOffsetMs: -42, online: false });
        expect(reloaded.device("valve-1")).toMatchObject({
          type: "valve-actuator",
          name: "Valve",
          lastSeen: 1_700_000_001_000,
          latest: { position: { value: 40, ts: 1_700_000_001_000 } },
        });
      });
    });

    it("writes back a fleet larger than one upsert statement, twice, and reloads every device", async () => {
      const bus = new EventBus();
      const fleet = new FleetRegistry(db, bus, SITES, EDGES, silentLogger());
      await fleet.start(60_000);
      const ids = Array.from({ length: 450 }, (_, i) => `env-${i}`);
      const commit = (seq: number, ts: number, temperature: number) =>
        bus.emit("readingsCommitted", {
          edgeId: "edge-1",
          siteId: "site-1",
          replay: true,
          readings: ids.map((deviceId, i) => ({
            seq: seq + i,
            deviceId,
            deviceType: "env-sensor",
            ts,
            values: { temperature: temperature + i },
          })),
        });
      commit(1, 1_700_000_001_000, 20);
      await fleet.flush();
      commit(1_000, 1_700_000_002_000, 30);
      await fleet.flush();
      await fleet.stop();
      await reloadedFleet((reloaded) => {
        expect(reloaded.devices({ edge: "edge-1" })).toHaveLength(450);
        expect(reloaded.device("env-0")).toMatchObject({ lastSeen: 1_700_000_002_000, latest: { temperature: { value: 30 } } });
        expect(reloaded.device("env-449")).toMatchObject({ lastSeen: 1_700_000_002_000, latest: { temperature: { value: 479 } } });
      });
    });

    it("writes a new or changed device back within a flush, a device its readings alone changed within ten", async () => {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      const bus = new EventBus();
      const fleet = new FleetRegistry(db, bus, SITES, EDGES, silentLogger());
      try {
        await fleet.start(1000);
        const reading = (seq: number, deviceType: string, temperature: number) =>
          bus.emit("readingsCommitted", {
            edgeId: "edge-1",
            siteId: "site-1",
            replay: true,
            readings: [{ seq, deviceId: "env-1", deviceType, ts: 1_700_000_000_000 + seq, values: { temperature } }],
          });
        const stored = async () => {
          const rows = await db.withTables<FleetTables>().selectFrom("devices").select(["type", "latest_json"]).execute();
          return rows.map((r) => `${r.type} ${(JSON.parse(r.latest_json) as { temperature: { value: number } }).temperature.value}`);
        };
        /** Runs `seconds` of the registry's timer, one flush a second, each awaited. */
        const seconds = async (n: number) => {
          for (let i = 0; i < n; i++) {
            await vi.advanceTimersByTimeAsync(1000);
            await fleet.writing();
          }
        };
        reading(1, "env-sensor", 20); // a new device: written at the next flush
        await seconds(1);
        expect(await stored()).toEqual(["env-sensor 20"]);
        reading(2, "env-sensor", 21); // only its readings changed: written with the round of every tenth flush
        await seconds(8);
        expect(await stored()).toEqual(["env-sensor 20"]);
        await seconds(1);
        expect(await stored()).toEqual(["env-sensor 21"]);
        reading(3, "env-sensor-v2", 22); // a new type: at the next flush again
        await seconds(1);
        expect(await stored()).toEqual(["env-sensor-v2 22"]);
        reading(4, "env-sensor-v2", 23); // and stop writes whatever is left
      } finally {
        vi.useRealTimers();
        await fleet.stop();
      }
      expect(
        (await db.withTables<FleetTables>().selectFrom("devices").select("latest_json").executeTakeFirstOrThrow()).latest_json,
      ).toContain("23");
    });

    it("stores commands, lists them newest first, and expires the due ones", async () => {
      const bus = new EventBus();
      const fleet = new FleetRegistry(db, bus, SITES, EDGES, silentLogger());
      await fleet.start(60_000);
      bus.emit("edgeConnected", {
        edgeId: "edge-1",
        siteId: "site-1",
        bootId: "b",
        agentVersion: "1",
        clockOffsetMs: 0,
        connectedAt: Date.now(),
        devices: [{ deviceId: "valve-1", deviceType: "valve-actuator", name: "Valve", online: true, lastSeenMs: 0 }],
      });
      const commands = new CommandService(db, bus, fleet, silentLogger());
      const requested: string[] = [];
      bus.on("commandRequested", (c) => {
        requested.push(c.commandId);
      });
      const a = await commands.create({ deviceId: "valve-1", name: "open", params: {}, ttlS: 1, requestedBy: "alice" });
      const b = await commands.create({ deviceId: "valve-1", name: "close", params: {}, requestedBy: "alice" });
      expect(requested).toEqual([a.id, b.id]);
      expect(await commands.get(a.id)).toMatchObject({ status: "pending", createdAt: a.createdAt, expiresAt: a.createdAt + 1000 });
      expect(typeof (await commands.get(a.id))?.createdAt).toBe("number");
      expect((await commands.forDevice("valve-1")).map((c) => c.id).sort()).toEqual([a.id, b.id].sort());
      expect(await commands.expireDue(a.createdAt + 1000)).toBe(1);
      expect((await commands.get(a.id))?.status).toBe("expired");
      expect((await commands.get(b.id))?.status).toBe("pending");
      commands.stop();
      await fleet.stop();
    });

    it("records a command and its commandRequested event in one transaction, relayed once", async () => {
      const bus = new EventBus();
      const fleet = new FleetRegistry(db, bus, SITES, EDGES, silentLogger());
      await fleet.start(60_000);
      bus.emit("edgeConnected", {
        edgeId: "edge-1",
        siteId: "site-1",
        bootId: "b",
        agentVersion: "1",
        clockOffsetMs: 0,
        connectedAt: Date.now(),
        devices: [{ deviceId: "valve-1", deviceType: "valve-actuator", name: "Valve", online: true, lastSeenMs: 0 }],
      });
      const relay = new OutboxRelay(db, new InProcessTransport(bus), silentLogger(), { pollMs: 20 });
      const commands = new CommandService(db, bus, fleet, silentLogger(), relay);
      const requested: string[] = [];
      bus.on("commandRequested", (c) => {
        requested.push(c.commandId);
      });
      const created = await commands.create({ deviceId: "valve-1", name: "open", params: {}, requestedBy: "alice" });
      relay.start();
      const deadline = Date.now() + 5000;
      while (requested.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      expect(requested).toEqual([created.id]);
      expect(await relay.pending()).toBe(0);
      await relay.stop();
      await fleet.stop();
    });
  });
}
