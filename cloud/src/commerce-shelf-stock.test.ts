/**
 * Live shelf stock from telemetry events: a real edge link (gRPC) sends smart-shelf readings; the
 * commerce read model follows item_count, streams changes over SSE, and low stock with hysteresis
 * creates exactly one replenishment draft per crossing.
 */
import type { ReplenishmentDraft, Shelf } from "@bitvelocity/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

describe("shelf stock from telemetry", () => {
  let t: TestCloud;
  let admin: string;
  let victor: string;
  let edge: EdgeLink;
  let seq = 0;

  async function count(n: number): Promise<void> {
    seq++;
    edge.batch(seq, [reading(seq, "shelf-1", { item_count: n, weight: n * 1.5 }, { deviceType: "smart-shelf" })]);
    await edge.next("ack");
  }
  const shelf = async () =>
    ((await (await t.api("/api/commerce/shelves", victor)).json()) as { shelves: Shelf[] }).shelves.find((s) => s.deviceId === "shelf-1");
  const drafts = async () => ((await (await t.api("/api/commerce/drafts", victor)).json()) as { drafts: ReplenishmentDraft[] }).drafts;

  beforeAll(async () => {
    t = await startTestCloud({ commerce: { payments_url: "http://127.0.0.1:9" } });
    [admin, victor] = await Promise.all([t.login("admin"), t.login("victor")]);
    edge = new EdgeLink(t.grpcAddress);
    edge.hello("edge-1", undefined, [{ deviceId: "shelf-1", deviceType: "smart-shelf" }]);
    await edge.next("welcome");
  });
  afterAll(async () => {
    edge?.close();
    await t?.close();
  });

  it("follows item_count live and drafts one replenishment per low crossing", async () => {
    await count(20);
    await waitFor(async () => ((await shelf())?.itemCount === 20 ? true : undefined), 5000, "shelf seen");
    expect(await shelf()).toMatchObject({ siteId: "site-1", sku: null, low: false });

    const bind = await t.api("/api/commerce/shelves/shelf-1", admin, {
      method: "PUT",
      body: JSON.stringify({ siteId: "site-1", sku: "SHELF-WATER-6", lowThreshold: 5, highThreshold: 15 }),
    });
    expect(bind.status).toBe(200);
    const wrongKind = await t.api("/api/commerce/shelves/shelf-1", admin, {
      method: "PUT",
      body: JSON.stringify({ siteId: "site-1", sku: "DEV-ENV-SENSOR", lowThreshold: 5, highThreshold: 15 }),
    });
    expect(wrongKind.status).toBe(400);
    const inverted = await t.api("/api/commerce/shelves/shelf-1", admin, {
      method: "PUT",
      body: JSON.stringify({ siteId: "site-1", sku: "SHELF-WATER-6", lowThreshold: 10, highThreshold: 5 }),
    });
    expect(inverted.status).toBe(400);

    // The live stream: every change arrives as an `event: shelf`.
    const abort = new AbortController();
    const stream = await fetch(`${t.url}/api/commerce/shelves/stream`, {
      headers: { authorization: `Bearer ${victor}` },
      signal: abort.signal,
    });
    expect(stream.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = stream.body!.getReader();
    let text = "";
    const seen = (n: number) => text.includes(`"itemCount":${n},`);

    for (const n of [4, 3, 6, 4]) await count(n); // one crossing; 6 and 4 stay below the high mark
    await waitFor(async () => ((await shelf())?.itemCount === 4 ? true : undefined), 5000, "count 4");
    expect(await shelf()).toMatchObject({ low: true, sku: "SHELF-WATER-6" });
    let list = await drafts();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ shelfDeviceId: "shelf-1", sku: "SHELF-WATER-6", quantity: 11, siteId: "site-1", status: "draft" });

    await count(16); // back above the high mark: armed again
    await waitFor(async () => ((await shelf())?.low === false ? true : undefined), 5000, "low cleared");
    await count(2);
    await waitFor(async () => ((await drafts()).length === 2 ? true : undefined), 5000, "second draft");
    list = await drafts();
    expect(list).toHaveLength(2);

    const deadline = Date.now() + 5000;
    while (!(seen(4) && seen(16) && seen(2)) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    expect(text).toMatch(/event: shelf/);
    expect(seen(16) && seen(2)).toBe(true);
  });

  it("ignores an older reading (a replay) after a newer count", async () => {
    const before = (await shelf())!;
    // A reading taken a minute before the latest one, arriving late (replay), with a new seq.
    edge.batch(
      9999,
      [reading(5000, "shelf-1", { item_count: 50 }, { deviceType: "smart-shelf", edgeTimeMs: before.updatedAt - 60_000 })],
      true,
    );
    await edge.next("ack");
    await count(7); // applied in arrival order: once 7 shows, the replay was looked at before it
    await waitFor(async () => ((await shelf())?.itemCount === 7 ? true : undefined), 5000, "count 7");
    const all = await t.api(`/api/devices/shelf-1/series?metric=item_count&from=0`, victor);
    const points = ((await all.json()) as { points: { max: number }[] }).points.map((p) => p.max);
    expect(points).toContain(50); // the replayed reading was committed to telemetry, yet did not move the shelf
  });
});
