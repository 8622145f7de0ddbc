// Promise 1 and 3 under the harshest edge fault: 220 devices publish QoS 1 while the edge agent is
// SIGKILLed at random moments and restarted on the same data dir and ports. Every reading the
// broker acknowledged must end up in the cloud store exactly once, with the values sent.
import { mulberry32 } from "@bitvelocity/firmware-sim";
import { afterAll, describe, expect, it } from "vitest";
import { type Service, startCloud, startEdge, startSim } from "../../scripts/system.mjs";
import {
  checkExactlyOnce,
  cloudMetric,
  describeReport,
  edgeMetric,
  type FaultSystem,
  pause,
  prepareFaultSystem,
  readStore,
  waitFor,
  waitForDrain,
} from "./support.js";

const DEVICES = 220;
const INTERVAL_MS = 500;
const KILLS = 20;

describe("edge SIGKILLed under load", () => {
  let sys: FaultSystem;
  let cloud: Service | undefined;
  let edge: Service | undefined;
  let sim: Service | undefined;

  afterAll(async () => {
    await sim?.stop("SIGKILL");
    await edge?.stop("SIGKILL");
    await cloud?.stop("SIGKILL");
  });

  it(`stores every acknowledged reading exactly once across ${KILLS} kills`, async () => {
    const started = Date.now();
    const seed = Number(process.env.BV_FAULT_SEED ?? started % 1_000_000);
    const random = mulberry32(seed);
    sys = await prepareFaultSystem({ prefix: "fault-kill", devices: DEVICES, intervalMs: INTERVAL_MS });
    cloud = startCloud(sys.prepared);
    const { grpc: grpcPort, http: cloudHttp } = (await cloud.ready) as { grpc: number; http: number };
    edge = startEdge(sys.prepared, grpcPort);
    await edge.ready;
    sim = startSim(sys.prepared, sys.mqttPort, { args: ["--quiet"] });
    await waitFor("the fleet to publish", async () => ((await edgeMetric(sys.edgeHttpPort, "bv_edge_readings_accepted_total")) ?? 0) > 200);

    let kills = 0;
    let restartMs = 0;
    let underLoad = 0;
    const connected = async () => (await edgeMetric(sys.edgeHttpPort, "bv_edge_mqtt_clients_connected")) ?? 0;
    for (; kills < KILLS; kills++) {
      // Most devices back (their reconnect backoff grows while the edge is down; on a loaded machine
      // not all make it in time, which is fine), then a random moment under load: appends in their
      // group commit, PUBACKs in flight, batches unacked.
      await waitFor("devices to reconnect", async () => ((await connected()) >= DEVICES * 0.5 ? true : undefined), 5000).catch(
        () => undefined,
      );
      await pause(300 + random() * 1700);
      if ((await connected()) >= DEVICES * 0.5) underLoad += 1;
      expect(sim.child.exitCode, sim.logs()).toBeNull();
      edge.child.kill("SIGKILL");
      await edge.exited;
      const restarting = Date.now();
      edge = startEdge(sys.prepared, grpcPort);
      await edge.ready;
      restartMs += Date.now() - restarting;
    }
    // Let devices reconnect and re-send what was never acknowledged, then stop them while the edge is up.
    await pause(4000);
    await sim.stop("SIGTERM", 20_000);
    await waitForDrain(sys.edgeHttpPort);
    // Copies the cloud refused: batches re-sent after a kill, and devices re-sending what the edge committed.
    const absorbed = await cloudMetric(cloudHttp, "bv_cloud_readings_duplicate_total");
    await edge.stop();
    await cloud.stop();

    const report = checkExactlyOnce(sys.prepared.files.ackedLog, readStore(sys.cloudDataDir));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `edge kill -9 (seed ${seed}): kills ${kills} (${underLoad} with ≥50% of devices connected; restart to listening ${Math.round(restartMs / kills)} ms on average), duplicates absorbed by the cloud ${absorbed}, ${seconds} s\n${describeReport(report)}`,
    );
    // Enough traffic to matter even on a loaded machine (nominally ~400 readings/s).
    expect(report.acked).toBeGreaterThan(DEVICES * 5);
    expect(report.missing, describeReport(report)).toEqual([]);
    expect(report.duplicates, describeReport(report)).toEqual([]);
    expect(report.wrongValues, describeReport(report)).toEqual([]);
  }, 300_000);
});
