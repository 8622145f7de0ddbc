/** The edge page's agent-update line: the version it runs, where its update stands, and the last error. */
import type { EdgeUpdate } from "@bitvelocity/api";
import { h, replace } from "../lib/dom.js";
import { ago } from "../lib/format.js";
import { releasesApi, UPDATE_TONE } from "../lib/releases-api.js";
import type { Scope } from "../lib/scope.js";
import { panel, pill } from "./ui.js";

export function edgeUpdatePanel(edgeId: string, scope: Scope): HTMLElement {
  const body = h("div", { testid: "edge-update" }, h("span", { class: "muted" }, "Loading…"));
  const render = (u: EdgeUpdate | undefined) => {
    if (!u?.state) {
      replace(
        body,
        h("p", { class: "muted" }, u ? `Runs ${u.runningVersion || "an unknown version"}; no update offered.` : "No update offered."),
      );
      return;
    }
    replace(
      body,
      h(
        "dl",
        { class: "kv" },
        h("dt", null, "Running"),
        h("dd", { class: "mono", testid: "edge-update-running" }, u.runningVersion || "—"),
        h("dt", null, "Release"),
        h("dd", { class: "mono" }, u.version),
        h("dt", null, "State"),
        h("dd", null, pill(u.state, UPDATE_TONE[u.state], "edge-update-state"), " ", h("span", { class: "sub" }, ago(u.updatedAt))),
        ...(u.error ? [h("dt", null, "Last error"), h("dd", { class: "wrap", testid: "edge-update-error" }, u.error)] : []),
      ),
    );
  };
  const refresh = () => {
    releasesApi
      .edgeUpdates()
      .then(({ edges }) => {
        if (!scope.disposed) render(edges.find((e) => e.edgeId === edgeId));
      })
      .catch((err: unknown) => {
        if (!scope.disposed) replace(body, h("p", { class: "muted" }, `Update state unavailable: ${String(err)}`));
      });
  };
  refresh();
  scope.every(5000, refresh);
  return panel(h("div", { class: "panel-title" }, h("h2", null, "Agent update")), body);
}
