/** Edge page: link state, agent, clock offset, outbox (depth, bytes, oldest, drain, ETA, dead letters), its devices, its configuration (admins). */

import type { Alert, Device, DeviceType, Edge } from "@bitvelocity/api";
import { chatPanel } from "../components/chat-panel.js";
import { EdgeRecords } from "../components/edge-records.js";
import { dot, errorBox, loading, panel, pill, stat } from "../components/ui.js";
import { activeAlerts } from "../lib/alerts.js";
import { ApiError, api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, bytes, clock, count, duration, signedMs } from "../lib/format.js";
import { live } from "../lib/live.js";
import { applyReading, mergeDevice } from "../lib/merge.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";
import { session } from "../lib/session.js";
import { throttle } from "../lib/throttle.js";

export function edgePage(id: string): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading("Loading edge…"));
  load(id, el, scope).catch((err: unknown) => {
    if (scope.disposed) return;
    replace(
      el,
      err instanceof ApiError && err.status === 404
        ? h("div", { class: "notice notice-bad" }, `No edge "${id}". `, h("a", { href: href.fleet() }, "Back to the fleet"))
        : errorBox(err),
    );
  });
  return { el, scope, title: id };
}

async function load(id: string, el: HTMLElement, scope: Scope): Promise<void> {
  const [types, { edge: first }, { devices: list }] = await Promise.all([session.catalog(), api.edge(id), api.devices({ edge: id })]);
  if (scope.disposed) return;
  let edge: Edge = first;
  const devices = new Map(list.map((d) => [d.id, d]));
  const body = h("div", { class: "stack" });
  const records = new EdgeRecords(id);
  const signature = () => `${edge.status?.gaps ?? ""}|${edge.status?.deadLetters ?? ""}|${edge.status?.evictedReadings ?? ""}`;
  const render = () => {
    replace(body, ...edgeView(edge, [...devices.values()], types, activeAlerts.forSubject(id)));
    records.refresh(signature());
  };
  const schedule = throttle(render, 500);
  scope.add(schedule.cancel);
  render();
  // Configuration is admin-only (it holds the edge's secrets, masked); it renders apart from the live
  // refresh, and loads as its own chunk (the dashboard's main chunk stays within its size budget).
  const config = session.user?.role === "admin" ? h("div", { class: "stack" }, loading("Loading configuration…")) : null;
  // The agent update line (version, update state, last error) loads as its own chunk too.
  const update = h("div");
  import("../components/edge-update.js")
    .then(({ edgeUpdatePanel }) => {
      if (!scope.disposed) replace(update, edgeUpdatePanel(id, scope));
    })
    .catch((err: unknown) => replace(update, errorBox(err)));
  replace(el, body, update, config, chatPanel(`site:${edge.siteId}`, "Site room", scope), records.gapsEl, records.deadEl);
  if (config)
    import("../components/edge-config.js")
      .then(async ({ EdgeConfigPanel }) => {
        if (scope.disposed) return;
        const panel = new EdgeConfigPanel(id);
        replace(config, panel.el);
        await panel.refresh();
      })
      .catch((err: unknown) => replace(config, errorBox(err)));
  scope.add(activeAlerts.watch(() => schedule()));
  // Counters may lag behind the stored records (or be absent on older edges): re-read now and then.
  scope.every(10_000, () => records.refresh(signature(), true));

  scope.add(live.subscribe({ edge: id }));
  scope.add(
    live.on("edge", (e) => {
      if (e.id !== id) return;
      edge = { ...edge, ...e };
      schedule();
    }),
  );
  scope.add(
    live.on("device", (d) => {
      if (d.edgeId !== id) return;
      devices.set(d.id, mergeDevice(devices.get(d.id), d));
      schedule();
    }),
  );
  // Summaries come for changes of state (online, name, type); latest values come with the readings.
  scope.add(
    live.on("readings", (batch) => {
      let changed = false;
      for (const r of batch) {
        const d = devices.get(r.deviceId);
        if (d && applyReading(d, r)) changed = true;
      }
      if (changed) schedule();
    }),
  );
  scope.every(1000, schedule);
}

function edgeView(e: Edge, devices: Device[], types: Map<string, DeviceType>, alerts: Alert[]): HTMLElement[] {
  const s = e.status;
  const online = devices.filter((d) => d.online).length;
  const head = h(
    "div",
    { class: "page-head" },
    h("div", { class: "crumbs" }, h("a", { href: href.fleet() }, "Fleet"), " / ", e.siteId, " / ", e.id),
    h(
      "div",
      { class: "title-row" },
      h("h1", { testid: "edge-title" }, e.name || e.id),
      h(
        "span",
        { testid: "edge-link-state", data: { state: e.online ? "online" : "offline" } },
        e.online ? pill("online", "ok") : pill("offline", "bad"),
      ),
    ),
    h(
      "div",
      { class: "meta" },
      h("span", { class: "mono" }, e.id),
      h("span", null, "site ", e.siteId),
      h(
        "span",
        null,
        e.online ? `connected since ${clock(e.connectedAt)} (${ago(e.connectedAt).replace(/ ago$/, "")})` : `last seen ${ago(e.lastSeen)}`,
      ),
    ),
  );
  const link = h(
    "div",
    { class: "stats" },
    stat("Link", e.online ? "online" : "offline", {
      tone: e.online ? "ok" : "bad",
      hint: e.online ? `up ${ago(e.connectedAt).replace(/ ago$/, "")}` : `seen ${ago(e.lastSeen)}`,
    }),
    stat("Agent version", e.agentVersion ?? "—"),
    stat("Boot id", e.bootId ? e.bootId.slice(0, 8) : "—", { hint: e.bootId ?? undefined }),
    stat("Clock offset", signedMs(e.clockOffsetMs), {
      tone: Math.abs(e.clockOffsetMs ?? 0) > 2000 || s?.clockSynced === false ? "warn" : undefined,
      hint: s?.clockSynced === false ? "edge clock NOT synchronised: readings re-stamped" : "edge clock vs cloud",
    }),
    stat("Devices connected", s ? count(s.devicesConnected) : "—", { hint: `${online} of ${devices.length} online` }),
  );
  const outbox = panel(
    h(
      "div",
      { class: "panel-title" },
      h("h2", null, "Outbox"),
      h("span", { class: "muted" }, s ? `reported ${ago(s.timeMs)}` : "no status received yet"),
    ),
    h(
      "div",
      { class: "stats" },
      stat("Depth", s ? count(s.outboxReadings) : "—", {
        testid: "edge-outbox-depth",
        raw: s?.outboxReadings,
        tone: s && s.outboxReadings > 0 ? "warn" : undefined,
        hint: "readings waiting",
      }),
      stat("Bytes", s ? bytes(s.outboxBytes) : "—"),
      stat("Oldest", s ? duration(s.oldestAgeSeconds) : "—", { tone: s && s.oldestAgeSeconds > 300 ? "warn" : undefined }),
      stat("Drain rate", s ? `${count(Math.round(s.drainRate))}/s` : "—"),
      stat("ETA", s && s.outboxReadings > 0 ? duration(s.etaSeconds) : "—", { hint: s && s.outboxReadings === 0 ? "drained" : undefined }),
      stat("Dead letters", s ? count(s.deadLetters) : "—", {
        tone: s && s.deadLetters > 0 ? "bad" : undefined,
        testid: "edge-dead-letters-count",
      }),
      stat("Gaps", s?.gaps !== undefined ? count(s.gaps) : "—", {
        tone: (s?.gaps ?? 0) > 0 ? "warn" : undefined,
        testid: "edge-gaps-count",
      }),
      stat("Written / day", s?.bytesWrittenPerDay ? bytes(s.bytesWrittenPerDay) : "—", {
        hint: s?.budgetBytes ? `SD-card wear · budget ${bytes(s.budgetBytes)}` : "SD-card wear",
      }),
      stat("Evictions", evictions(s) !== undefined ? count(evictions(s)) : "—", { tone: (evictions(s) ?? 0) > 0 ? "warn" : undefined }),
    ),
  );
  const connectors = s?.connectors?.length
    ? panel(
        h(
          "div",
          { class: "panel-title" },
          h("h2", null, "Connectors"),
          h("span", { class: "muted" }, "OPC UA, Modbus and other southbound links"),
        ),
        h(
          "div",
          { class: "table-wrap flush" },
          h(
            "table",
            { class: "table", testid: "edge-connectors" },
            h(
              "thead",
              null,
              h("tr", null, h("th", null, "Connector"), h("th", null, "Kind"), h("th", null, "State"), h("th", null, "Detail")),
            ),
            h(
              "tbody",
              null,
              ...s.connectors.map((c) =>
                h(
                  "tr",
                  { testid: "connector-row", data: { state: c.state } },
                  h("td", { class: "mono" }, c.id),
                  h("td", null, c.kind),
                  h(
                    "td",
                    null,
                    pill(
                      c.state,
                      /^(connected|running|ok|up)$/i.test(c.state) ? "ok" : /fail|error|down|closed/i.test(c.state) ? "bad" : "warn",
                    ),
                  ),
                  h("td", { class: "sub" }, c.detail),
                ),
              ),
            ),
          ),
        ),
      )
    : null;
  const sorted = devices.sort((a, b) => Number(a.online) - Number(b.online) || a.name.localeCompare(b.name));
  const table = h(
    "div",
    { class: "table-wrap flush" },
    h(
      "table",
      { class: "table", testid: "edge-devices" },
      h(
        "thead",
        null,
        h("tr", null, h("th", { class: "col-dot" }), h("th", null, "Device"), h("th", null, "Type"), h("th", null, "Last seen")),
      ),
      h(
        "tbody",
        null,
        ...sorted.map((d) =>
          h(
            "tr",
            { class: d.online ? "" : "row-bad", testid: "edge-device-row", data: { deviceId: d.id } },
            h("td", { class: "col-dot" }, dot(d.online)),
            h("td", null, h("a", { class: "strong", href: href.device(d.id) }, d.name || d.id), h("div", { class: "sub mono" }, d.id)),
            h("td", null, types.get(d.type)?.name ?? d.type),
            h("td", null, ago(d.lastSeen)),
          ),
        ),
      ),
    ),
  );
  const alarms = s?.alarms?.length
    ? h("div", { class: "notice notice-bad", testid: "edge-alarms" }, ...s.alarms.map((a) => h("div", { class: "mono" }, a)))
    : null;
  const alertStrip = alerts.length
    ? h(
        "div",
        { class: "notice notice-bad", testid: "edge-alerts" },
        ...alerts.map((a) =>
          h(
            "div",
            null,
            h("strong", null, `${a.severity} · ${a.ruleName}: `),
            a.message,
            a.state === "acknowledged" ? ` (acknowledged by ${a.acknowledgedBy})` : "",
          ),
        ),
      )
    : null;
  return [
    head,
    ...(alertStrip ? [alertStrip] : []),
    ...(alarms ? [alarms] : []),
    link,
    outbox,
    ...(connectors ? [connectors] : []),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "Devices"), h("span", { class: "muted" }, `${devices.length} behind this edge`)),
      table,
    ),
  ];
}

function evictions(s: Edge["status"]): number | undefined {
  return s?.evictedReadings;
}
