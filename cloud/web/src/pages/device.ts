/** Device page: header, latest values, live chart, history, commands — live via the `device` subscription. */

import type { Device, MetricDef } from "@bitvelocity/api";
import { commandsPanel } from "../components/commands-panel.js";
import { CompareChart, MAX_PEERS } from "../components/compare-chart.js";
import { HistoryChart } from "../components/history-chart.js";
import { LIVE_WINDOW_MS, LiveChart } from "../components/live-chart.js";
import { MetricCards } from "../components/metric-cards.js";
import { errorBox, loading, panel, pill } from "../components/ui.js";
import { activeAlerts } from "../lib/alerts.js";
import { ApiError, api } from "../lib/api.js";
import { h, replace, setText } from "../lib/dom.js";
import { ago } from "../lib/format.js";
import { live } from "../lib/live.js";
import { applyReading, mergeDevice } from "../lib/merge.js";
import { isNumeric, label, metricsOf } from "../lib/metrics.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";

export function devicePage(id: string): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading device…"));
  load(id, el, scope).catch((err: unknown) => {
    if (scope.disposed) return;
    replace(el, err instanceof ApiError && err.status === 404 ? notFound(id) : errorBox(err));
  });
  return { el, scope, title: id };
}

function notFound(id: string): HTMLElement {
  return h("div", { class: "notice notice-bad" }, `No device "${id}". `, h("a", { href: href.fleet() }, "Back to the fleet"));
}

async function load(id: string, el: HTMLElement, scope: Scope): Promise<void> {
  const [types, res] = await Promise.all([session.catalog(), api.device(id)]);
  if (scope.disposed) return;
  let device: Device = mergeDevice(undefined, res.device);
  const type = types.get(device.type);
  const metrics = metricsOf(type, Object.keys(device.latest));
  const numeric = metrics.filter(isNumeric);

  // Header
  const state = h("span");
  const seen = h("span", { class: "muted" });
  let shownOnline: boolean | null = null;
  const renderHeader = () => {
    if (shownOnline !== device.online)
      replace(state, device.online ? pill("online", "ok", "device-state") : pill("offline", "bad", "device-state"));
    shownOnline = device.online;
    setText(seen, device.online ? `last reading ${ago(device.lastSeen)}` : `last seen ${ago(device.lastSeen)}`);
  };
  const head = h(
    "div",
    { class: "page-head" },
    h(
      "div",
      { class: "crumbs" },
      h("a", { href: href.fleet() }, "Fleet"),
      " / ",
      h("a", { href: href.edge(device.edgeId) }, device.edgeId),
      " / ",
      device.id,
    ),
    h("div", { class: "title-row" }, h("h1", { testid: "device-title" }, device.name || device.id), state),
    h(
      "div",
      { class: "meta" },
      h("span", null, type?.name ?? device.type),
      h("span", { class: "mono" }, device.id),
      h("span", null, "edge ", h("a", { href: href.edge(device.edgeId) }, device.edgeId)),
      h("span", null, "site ", device.siteId),
      seen,
    ),
  );

  // Charts
  const liveChart = new LiveChart();
  const history = new HistoryChart(id);
  scope.add(() => liveChart.destroy());
  scope.add(() => history.destroy());
  const cards = new MetricCards(metrics, (m) => select(m));
  const tabs = numeric.map((m) =>
    h("button", { class: "seg", type: "button", testid: `chart-metric-${m.name}`, on: { click: () => select(m) } }, label(m.name)),
  );
  const chartTitle = h("span", { class: "muted" });
  // Compare with peers: the same metric of up to 20 devices of this type on this edge.
  const compare = new CompareChart(id);
  scope.add(() => compare.destroy());
  let comparing: (() => void) | null = null;
  let current: MetricDef | null = null;
  const liveSlot = h("div", null, liveChart.el);
  const liveTitle = h("h3", { class: "subhead" }, "Live · last 10 min");
  const compareButton = h("button", { class: "seg", type: "button", testid: "compare-toggle" }, "Compare with peers");
  const startCompare = async () => {
    const { devices: peers } = await api.devices({ edge: device.edgeId, type: device.type });
    if (scope.disposed || !current) return;
    compare.configure(
      peers.map((p) => p.id),
      current,
    );
    setText(liveTitle, `Live · ${compare.seriesCount} ${type?.name ?? device.type} devices on ${device.edgeId} · this one in amber`);
    replace(liveSlot, compare.el);
    // Seed the last 10 minutes so the chart is not empty until the next readings arrive.
    const from = Date.now() - LIVE_WINDOW_MS;
    for (const p of peers.slice(0, MAX_PEERS)) {
      api
        .readings(p.id, { from, limit: 1000 })
        .then(({ readings }) => compare.add(readings.map((r) => ({ deviceId: p.id, seq: r.seq, ts: r.ts, values: r.values }))))
        .catch(() => {});
    }
    const off = [live.subscribe({ edge: device.edgeId }), live.on("readings", (batch) => compare.add(batch))];
    comparing = () => {
      for (const f of off) f();
    };
  };
  const stopCompare = () => {
    comparing?.();
    comparing = null;
    setText(liveTitle, "Live · last 10 min");
    replace(liveSlot, liveChart.el);
  };
  scope.add(() => comparing?.());
  compareButton.addEventListener("click", () => {
    const on = !compareButton.classList.contains("active");
    compareButton.classList.toggle("active", on);
    compareButton.title = `up to ${MAX_PEERS} devices`;
    if (on) void startCompare().catch(() => stopCompare());
    else stopCompare();
  });
  const select = (m: MetricDef) => {
    current = m;
    for (const [i, n] of numeric.entries()) tabs[i]!.classList.toggle("active", n === m);
    cards.select(m.name);
    setText(chartTitle, `${m.description}${m.unit ? ` (${m.unit})` : ""}`);
    liveChart.setMetric(m);
    history.setMetric(m);
    if (comparing) {
      stopCompare();
      void startCompare().catch(() => stopCompare());
    }
  };

  renderHeader();
  cards.update(device.latest);
  const alertStrip = h("div", { testid: "device-alerts" });
  scope.add(
    activeAlerts.watch(() => {
      const mine = activeAlerts.forSubject(id);
      alertStrip.className = mine.length ? "notice notice-bad" : "";
      replace(
        alertStrip,
        ...mine.map((a) =>
          h(
            "div",
            null,
            h("strong", null, `${a.severity} · ${a.ruleName}: `),
            a.message,
            a.state === "acknowledged" ? ` (acknowledged by ${a.acknowledgedBy})` : "",
          ),
        ),
      );
    }),
  );
  replace(
    el,
    head,
    alertStrip,
    h("div", { class: "cards-wrap" }, cards.el),
    numeric.length
      ? panel(
          h(
            "div",
            { class: "panel-title" },
            h("h2", null, "Trends"),
            h("div", { class: "segmented" }, ...tabs),
            chartTitle,
            h("div", { class: "segmented" }, compareButton),
          ),
          h(
            "div",
            { class: "chart-grid" },
            h("div", null, liveTitle, liveSlot),
            h("div", null, h("h3", { class: "subhead" }, "History"), history.el),
          ),
        )
      : null,
    commandsPanel(id, type?.commands ?? [], scope),
  );
  if (numeric[0]) select(numeric[0]);

  // Live
  const seed = () =>
    api
      .readings(id, { from: Date.now() - LIVE_WINDOW_MS, limit: 5000 })
      .then(({ readings }) => {
        liveChart.add(readings);
        liveChart.redraw();
      })
      .catch(() => {});
  void seed();
  scope.add(live.subscribe({ device: id }));
  scope.add(
    live.on("readings", (batch) => {
      const mine = batch.filter((r) => r.deviceId === id);
      if (!mine.length) return;
      liveChart.add(mine);
      let changed = false;
      for (const r of mine) changed = applyReading(device, r) || changed;
      if (changed) cards.update(device.latest);
    }),
  );
  scope.add(
    live.on("device", (d) => {
      if (d.id !== id) return;
      device = mergeDevice(device, d);
      renderHeader();
      cards.update(device.latest);
    }),
  );
  let wasLive = live.state === "live";
  scope.add(
    live.onState((s) => {
      if (s === "live" && !wasLive) {
        void seed();
        api
          .device(id)
          .then((r) => {
            device = mergeDevice(device, r.device);
            renderHeader();
            cards.update(device.latest);
          })
          .catch(() => {});
      }
      wasLive = s === "live";
    }),
  );
  scope.every(1000, () => {
    cards.tick();
    renderHeader();
    liveChart.redraw();
  });
}
