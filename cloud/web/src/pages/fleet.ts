/** Fleet overview: counts, edges with link state, the device table with filters; live via `fleet`. */

import type { Device, DeviceType, Edge, Site } from "@bitvelocity/api";
import { Attention } from "../components/attention.js";
import { awaitingDevices } from "../components/awaiting-devices.js";
import { type DeviceFilter, DevicesTable } from "../components/devices-table.js";
import { EdgesTable } from "../components/edges-table.js";
import { SiteCards } from "../components/site-cards.js";
import { errorBox, loading, panel, stat } from "../components/ui.js";
import { activeAlerts } from "../lib/alerts.js";
import { api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { count } from "../lib/format.js";
import { live } from "../lib/live.js";
import { applyReading, mergeDevice } from "../lib/merge.js";
import { label } from "../lib/metrics.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";
import { throttle } from "../lib/throttle.js";

export function fleetPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading the fleet…"));
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Fleet" };
}

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [types, { sites }, { edges }, { devices }] = await Promise.all([session.catalog(), api.sites(), api.edges(), api.devices()]);
  if (scope.disposed) return;
  const state = {
    sites: new Map(sites.map((s) => [s.id, s])),
    edges: new Map(edges.map((e) => [e.id, e])),
    devices: new Map(devices.map((d) => [d.id, mergeDevice(undefined, d)])),
  };
  const siteName = (id: string) => state.sites.get(id)?.name ?? id;
  const filter: DeviceFilter = { q: "", site: "", type: "", state: "" };

  const stats = h("div", { class: "stats" });
  const edgesTable = new EdgesTable(siteName);
  const devicesTable = new DevicesTable(types, siteName);
  const alerting = () => new Set(activeAlerts.list().map((a) => a.subjectId));
  const filters = filterBar(filter, [...state.sites.values()], types, () => render());
  const attention = new Attention();
  const siteCards = new SiteCards((siteId) => {
    filter.site = siteId;
    const select = filters.querySelector<HTMLSelectElement>('select[name="site"]');
    if (select) select.value = siteId;
    render();
  });

  const render = () => {
    const alerts = activeAlerts.list();
    replace(stats, ...statTiles(state.sites, state.edges, state.devices, alerts.length));
    attention.render(alerts, state.edges.values(), state.devices.values());
    siteCards.render(state.sites.values(), state.edges.values(), state.devices.values(), alerts, filter.site);
    edgesTable.render(state.edges.values());
    devicesTable.render(state.devices.values(), filter, alerting());
  };
  const schedule = throttle(render, 1000);
  scope.add(schedule.cancel);
  render();

  scope.add(activeAlerts.watch(() => schedule()));
  replace(
    el,
    stats,
    panel(h("div", { class: "panel-title" }, h("h2", null, "Needs attention"), h("span", { class: "muted" }, "worst first")), attention.el),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "Sites"), h("span", { class: "muted" }, "sites → edges → devices")),
      siteCards.el,
    ),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "Edges"), h("span", { class: "muted" }, "gateways and their outbox")),
      edgesTable.el,
    ),
    panel(h("div", { class: "panel-title" }, h("h2", null, "Devices"), filters), devicesTable.el),
    awaitingDevices(scope),
  );

  scope.every(1000, () => {
    const now = Date.now();
    devicesTable.tick(now);
    edgesTable.tick(now);
  });

  scope.add(live.subscribe({ fleet: true }));
  scope.add(
    live.on("device", (d) => {
      state.devices.set(d.id, mergeDevice(state.devices.get(d.id), d));
      schedule();
    }),
  );
  scope.add(
    live.on("edge", (e) => {
      state.edges.set(e.id, { ...state.edges.get(e.id), ...e });
      schedule();
    }),
  );
  scope.add(
    live.on("readings", (batch) => {
      let changed = false;
      for (const r of batch) {
        const d = state.devices.get(r.deviceId);
        if (d && applyReading(d, r)) changed = true;
      }
      if (changed) schedule();
    }),
  );
  // After a reconnect we may have missed events: reload the summaries once.
  let wasLive = live.state === "live";
  scope.add(
    live.onState((s) => {
      if (s === "live" && !wasLive) {
        Promise.all([api.edges(), api.devices(), api.sites()])
          .then(([e, d, s2]) => {
            state.edges = new Map(e.edges.map((x) => [x.id, x]));
            state.devices = new Map(d.devices.map((x) => [x.id, mergeDevice(undefined, x)]));
            state.sites = new Map(s2.sites.map((x) => [x.id, x]));
            schedule();
          })
          .catch(() => {});
      }
      wasLive = s === "live";
    }),
  );
}

function statTiles(sites: Map<string, Site>, edges: Map<string, Edge>, devices: Map<string, Device>, alerts: number): HTMLElement[] {
  const edgeList = [...edges.values()];
  const deviceList = [...devices.values()];
  const edgesOnline = edgeList.filter((e) => e.online).length;
  const online = deviceList.filter((d) => d.online).length;
  const offline = deviceList.length - online;
  const backlog = edgeList.reduce((n, e) => n + (e.status?.outboxReadings ?? 0), 0);
  const dead = edgeList.reduce((n, e) => n + (e.status?.deadLetters ?? 0), 0);
  return [
    stat("Sites", count(sites.size), { testid: "stat-sites", raw: sites.size }),
    stat("Edges online", `${edgesOnline} / ${edgeList.length}`, {
      tone: edgesOnline < edgeList.length ? "bad" : "ok",
      testid: "stat-edges",
    }),
    stat("Devices", count(deviceList.length), { testid: "stat-devices", raw: deviceList.length }),
    stat("Online", count(online), { tone: "ok", testid: "stat-online", raw: online }),
    stat("Offline", count(offline), { tone: offline > 0 ? "bad" : undefined, testid: "stat-offline", raw: offline }),
    stat("Alerts", count(alerts), { tone: alerts > 0 ? "bad" : "ok", testid: "stat-alerts", raw: alerts }),
    stat("Outbox backlog", count(backlog), {
      tone: backlog > 0 ? "warn" : undefined,
      hint: dead ? `${count(dead)} dead letters` : "readings queued at edges",
    }),
  ];
}

function filterBar(filter: DeviceFilter, sites: Site[], types: Map<string, DeviceType>, onChange: () => void): HTMLElement {
  const search = h("input", {
    class: "input",
    type: "search",
    placeholder: "Search id, name, type…",
    "aria-label": "Search devices",
    testid: "fleet-search",
  });
  let debounce = 0;
  search.addEventListener("input", () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => {
      filter.q = search.value.trim();
      onChange();
    }, 150);
  });
  const select = (name: string, labelText: string, options: Array<[string, string]>, set: (v: string) => void) => {
    const s = h(
      "select",
      { class: "input", name, "aria-label": labelText, testid: `fleet-filter-${name}` },
      h("option", { value: "" }, labelText),
      ...options.map(([v, t]) => h("option", { value: v }, t)),
    );
    s.addEventListener("change", () => {
      set(s.value);
      onChange();
    });
    return s;
  };
  return h(
    "div",
    { class: "filters" },
    search,
    select(
      "site",
      "All sites",
      sites.map((s) => [s.id, s.name]),
      (v) => {
        filter.site = v;
      },
    ),
    select(
      "type",
      "All types",
      [...types.values()].map((t) => [t.type, t.name || label(t.type)]),
      (v) => {
        filter.type = v;
      },
    ),
    select(
      "state",
      "Any state",
      [
        ["online", "Online"],
        ["offline", "Offline"],
        ["alarming", "Alarming"],
      ],
      (v) => {
        filter.state = v as DeviceFilter["state"];
      },
    ),
  );
}
