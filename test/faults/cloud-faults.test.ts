// Promises 1–3 under cloud and link faults: the cloud is SIGKILLed and SIGTERMed while the edge
// drains a backlog (at random moments right after the link comes back, so mid-batch), and the
// link is cut through a TCP proxy in each mode. A stalled or half-open link has to be detected by
// the edge's keepalive. At the end every acknowledged reading is stored exactly once.
import { mulberry32 } from "@bitvelocity/firmware-sim";
import { afterAll, describe, expect, it } from "vitest";
import { type Service, startCloud, startEdge, startSim } from "../../scripts/system.mjs";
import {
  checkExactlyOnce,
  checkRollups,
  describeReport,
  edgeMetric,
  type FaultSystem,
  pause,
  prepareFaultSystem,
  readStore,
  waitFor,
  waitForDrain,
  waitForUplink,
} from "./support.js";
import { type Direction, type ProxyMode, TcpProxy } from "./tcp-proxy.js";

const DEVICES = 120;
const INTERVAL_MS = 500;
const KEEPALIVE_MS = 1000;
const CLOUD_STOPS: NodeJS.Signals[] = ["SIGKILL", "SIGTERM", "SIGKILL", "SIGKILL", "SIGTERM", "SIGKILL", "SIGTERM", "SIGKILL"];
const LINK_FAULTS: { mode: ProxyMode; discard?: Direction; detect: boolean }[] = [
  { mode: "refuse", detect: false },
  { mode: "drop", detect: false },
  { mode: "stall", detect: true },
  { mode: "half-open", discard: "to-client", detect: true },
  { mode: "half-open", discard: "to-target", detect: true },
];

describe("cloud restarts and link faults while the edge drains", () => {
  let sys: FaultSystem;
  let proxy: TcpProxy | undefined;
  let cloud: Service | undefined;
  let edge: Service | undefined;
  let sim: Service | undefined;

  afterAll(async () => {
    await sim?.stop("SIGKILL");
    await edge?.stop("SIGKILL");
    await cloud?.stop("SIGKILL");
    await proxy?.close();
  });

  /** Starts the cloud on a fresh gRPC port (its data dir persists) and points the proxy at it. */
  async function restartCloud(): Promise<void> {
    cloud = startCloud(sys.prepared);
    const grpc = (await cloud.ready).grpc as number;
    proxy!.setTarget({ host: "127.0.0.1", port: grpc });
  }

  it("stores every acknowledged reading exactly once", async () => {
    const started = Date.now();
    const seed = Number(process.env.BV_FAULT_SEED ?? started % 1_000_000);
    const random = mulberry32(seed);
    sys = await prepareFaultSystem({ prefix: "fault-cloud", devices: DEVICES, intervalMs: INTERVAL_MS, keepaliveMs: KEEPALIVE_MS });
    cloud = startCloud(sys.prepared);
    proxy = new TcpProxy({ host: "127.0.0.1", port: (await cloud.ready).grpc as number });
    const proxyPort = await proxy.listen();
    edge = startEdge(sys.prepared, proxyPort);
    await edge.ready;
    sim = startSim(sys.prepared, sys.mqttPort, { args: ["--quiet"] });
    await waitFor("the fleet to publish", async () => ((await edgeMetric(sys.edgeHttpPort, "bv_edge_readings_accepted_total")) ?? 0) > 100);
    await waitForUplink(sys.edgeHttpPort, true);

    // Cloud down for 1–3 s (a backlog builds), back up, and down again 0–400 ms after the edge
    // reconnects: while it sends the first batches of the backlog.
    let stopsWithBacklog = 0;
    for (const signal of CLOUD_STOPS) {
      if (((await edgeMetric(sys.edgeHttpPort, "bv_edge_outbox_readings")) ?? 0) > 0) stopsWithBacklog += 1;
      await cloud.stop(signal);
      await pause(1000 + random() * 2000);
      await restartCloud();
      await waitForUplink(sys.edgeHttpPort, true);
      await pause(random() * 400);
    }
    await pause(2000);

    const detection: string[] = [];
    for (const fault of LINK_FAULTS) {
      const name = fault.discard ? `${fault.mode}(${fault.discard})` : fault.mode;
      proxy.setMode(fault.mode, fault.discard ? { discard: fault.discard } : {});
      if (fault.detect) {
        // Nothing closes the socket: only the edge's keepalive can tell the link is dead.
        const ms = await waitForUplink(sys.edgeHttpPort, false, 10 * KEEPALIVE_MS);
        detection.push(`${name} ${ms} ms`);
      } else {
        await waitForUplink(sys.edgeHttpPort, false, 5000);
      }
      await pause(1500 + random() * 1500);
      proxy.setMode("pass");
      await waitForUplink(sys.edgeHttpPort, true);
      await pause(1500);
    }

    await sim.stop("SIGTERM", 20_000);
    await waitForDrain(sys.edgeHttpPort);
    await edge.stop();
    await cloud.stop();

    const report = checkExactlyOnce(sys.prepared.files.ackedLog, readStore(sys.cloudDataDir));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `cloud/link faults (seed ${seed}): cloud stops ${CLOUD_STOPS.length} (${stopsWithBacklog} with a backlog in the outbox), link faults ${LINK_FAULTS.length}, ` +
        `proxy connections ${proxy.stats.accepted}, ${seconds} s\ndead link detected: ${detection.join(", ")}\n${describeReport(report)}`,
    );
    // Enough traffic to matter even on a loaded machine (nominally ~240 readings/s).
    expect(report.acked).toBeGreaterThan(DEVICES * 10);
    expect(report.missing, describeReport(report)).toEqual([]);
    expect(report.duplicates, describeReport(report)).toEqual([]);
    expect(report.wrongValues, describeReport(report)).toEqual([]);
    // The rollups count every stored reading once, through the same kills (they are written apart from the readings).
    const rollups = checkRollups(sys.cloudDataDir);
    expect(rollups.series).toBeGreaterThan(0);
    expect(rollups.mismatches).toEqual([]);
    expect(rollups.pending).toBe(0);
  }, 300_000);
});
