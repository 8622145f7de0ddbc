// The cloud's side of a dead link (DESIGN.md §6: a half-open link is detected): an edge that loses
// power or network never closes its stream. Behind a stalled proxy, the edge is SIGKILLed and
// nothing reaches the cloud; only the cloud's keepalive pings can tell it the edge is gone.
import { afterAll, describe, expect, it } from "vitest";
import { type Service, startCloud, startEdge } from "../../scripts/system.mjs";
import { cloudMetric, prepareFaultSystem, waitFor, waitForUplink } from "./support.js";
import { TcpProxy } from "./tcp-proxy.js";

const KEEPALIVE_MS = 1000;

describe("an edge that vanishes without closing its stream", () => {
  let proxy: TcpProxy | undefined;
  let cloud: Service | undefined;
  let edge: Service | undefined;

  afterAll(async () => {
    await edge?.stop("SIGKILL");
    await cloud?.stop("SIGKILL");
    await proxy?.close();
  });

  it("is shown disconnected by the cloud within a few keepalive intervals", async () => {
    const sys = await prepareFaultSystem({
      prefix: "fault-vanish",
      devices: 2,
      intervalMs: 1000,
      cloudOverrides: { ingest: { keepalive_ms: KEEPALIVE_MS } },
    });
    cloud = startCloud(sys.prepared);
    const cp = await cloud.ready;
    proxy = new TcpProxy({ host: "127.0.0.1", port: cp.grpc as number });
    edge = startEdge(sys.prepared, await proxy.listen());
    await edge.ready;
    await waitForUplink(sys.edgeHttpPort, true);
    expect(await cloudMetric(cp.http as number, "bv_cloud_edges_connected")).toBe(1);

    proxy.setMode("stall");
    edge.child.kill("SIGKILL");
    await edge.exited;
    const started = Date.now();
    await waitFor(
      "the cloud to notice the edge is gone",
      async () => ((await cloudMetric(cp.http as number, "bv_cloud_edges_connected")) === 0 ? true : undefined),
      10 * KEEPALIVE_MS,
      50,
    );
    console.log(`cloud noticed the vanished edge after ${Date.now() - started} ms (keepalive ${KEEPALIVE_MS} ms)`);
    expect(proxy.connections).toBe(1); // the proxy never closed it: the cloud's pings did
  }, 60_000);
});
