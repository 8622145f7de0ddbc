/**
 * The edge page's Configuration section (admins): the latest remote version and its state, an
 * editor for the next one (YAML in the edge config's schema, laid over the edge's file; secrets
 * shown as ******** and kept when left so), Save with every problem listed inline, and the
 * version history with what the edge reported. It renders on its own, never with the page's
 * live refresh, so an edit in progress is never replaced.
 */

import type { EdgeConfigVersion, EdgeConfigView } from "@bitvelocity/api";
import { ApiError, request } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, clock } from "../lib/format.js";
import { scrollTable } from "./scroll-table.js";
import { empty, errorText, panel, pill } from "./ui.js";

// Here rather than in lib/api.ts: this section loads as its own chunk, and its calls with it.
const configApi = {
  get: (edgeId: string) => request<EdgeConfigView>("GET", `/api/edges/${encodeURIComponent(edgeId)}/config`),
  save: (edgeId: string, yaml: string, baseVersion: number) =>
    request<{ version: EdgeConfigVersion; view: EdgeConfigView }>("POST", `/api/edges/${encodeURIComponent(edgeId)}/config`, {
      yaml,
      baseVersion,
    }),
};

const TONE = { applied: "ok", pending: "warn", rejected: "bad", "rolled-back": "bad" } as const;

const PLACEHOLDER = `# Laid over the edge's own file; keys left out keep the file's values.
devices:
  - id: env-0042
    type: env-sensor
    secret_hash: sha256$1$...   # bv-edge hash-secret
mqtt:
  limits:
    max_connections: 500
`;

export class EdgeConfigPanel {
  readonly el: HTMLElement;
  private readonly summary = h("span", { class: "muted", testid: "config-summary" });
  private readonly editor: HTMLTextAreaElement;
  private readonly result = h("div", { testid: "config-result", "aria-live": "polite" });
  private readonly history = h("div");
  private readonly save: HTMLButtonElement;
  private view: EdgeConfigView | null = null;
  private busy = false;

  constructor(private readonly edgeId: string) {
    this.editor = h("textarea", {
      class: "input config-editor mono",
      id: `config-editor-${edgeId}`,
      rows: 14,
      spellcheck: "false",
      autocomplete: "off",
      placeholder: PLACEHOLDER,
      testid: "config-editor",
    });
    this.save = h("button", { class: "btn btn-primary", type: "submit", testid: "config-save" }, "Save and send to the edge");
    const form = h(
      "form",
      { class: "stack config-form" },
      h(
        "div",
        { class: "field" },
        h("label", { for: this.editor.id }, "Configuration (YAML)"),
        this.editor,
        h(
          "span",
          { class: "field-hint" },
          "The same schema as the edge's file. Devices, report strategies and limits apply without a restart; other changes restart the agent. ",
          "Secrets show as ******** and are kept when left so.",
        ),
      ),
      h("div", null, this.save),
      this.result,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.el = panel(
      h("div", { class: "panel-title" }, h("h2", null, "Configuration"), this.summary),
      form,
      h("h3", { class: "config-history-title" }, "Version history"),
      this.history,
    );
    this.el.dataset.testid = "edge-config";
  }

  /** Reads the latest state; the editor is filled only when it holds no edit of the operator's. */
  async refresh(): Promise<void> {
    try {
      const view = await configApi.get(this.edgeId);
      const untouched = this.view === null || this.editor.value === (this.view.latest?.yaml ?? "");
      this.render(view, untouched);
    } catch (err) {
      replace(this.history, h("div", { class: "notice notice-muted" }, errorText(err)));
    }
  }

  private render(view: EdgeConfigView, fillEditor: boolean): void {
    this.view = view;
    if (fillEditor) this.editor.value = view.latest?.yaml ?? "";
    const latest = view.latest;
    const running =
      view.runningVersion === null ? "not reported yet" : view.runningVersion === 0 ? "its file only" : `version ${view.runningVersion}`;
    replace(
      this.summary,
      latest
        ? h("span", null, `latest version ${latest.version} `, statePill(latest), ` · the edge runs ${running}`)
        : `no remote version yet · the edge runs ${running}`,
    );
    if (view.versions.length === 0) {
      replace(this.history, empty("No versions yet. The edge runs on its own file."));
      return;
    }
    replace(
      this.history,
      scrollTable(
        "Configuration versions",
        h(
          "table",
          { class: "table", testid: "config-history" },
          h("thead", null, h("tr", null, h("th", null, "Version"), h("th", null, "State"), h("th", null, "By"), h("th", null, "Saved"))),
          h("tbody", null, ...view.versions.map(versionRow)),
        ),
      ),
    );
  }

  private submit(): void {
    if (this.busy) return;
    this.busy = true;
    this.save.disabled = true;
    replace(this.result);
    configApi
      .save(this.edgeId, this.editor.value, this.view?.latest?.version ?? 0)
      .then(({ version, view }) => {
        this.render(view, true);
        replace(
          this.result,
          h(
            "div",
            { class: "notice notice-muted", testid: "config-saved", data: { version: String(version.version) } },
            `Saved version ${version.version}; `,
            version.state === "pending" ? "sent to the edge, waiting for its report." : `the edge reports it ${version.state}.`,
          ),
        );
        this.watch(version.version);
      })
      .catch((err: unknown) => replace(this.result, problemsBox(err)))
      .finally(() => {
        this.busy = false;
        this.save.disabled = false;
      });
  }

  /** Polls until the edge reports on the version (the edge may be offline: it gets it at its next connection). */
  private watch(version: number, tries = 30): void {
    setTimeout(() => {
      if (!this.el.isConnected) return;
      void this.refresh().then(() => {
        const v = this.view?.versions.find((x) => x.version === version);
        if (v?.state === "pending" && tries > 1) this.watch(version, tries - 1);
      });
    }, 1000);
  }
}

function statePill(v: EdgeConfigVersion): HTMLSpanElement {
  return pill(v.state, TONE[v.state], `config-state-${v.version}`);
}

function versionRow(v: EdgeConfigVersion): HTMLElement {
  const how = v.state === "applied" ? (v.restarted ? "applied by a restart" : "applied hot") : "";
  return h(
    "tr",
    { testid: "config-version-row", data: { version: String(v.version), state: v.state } },
    h("td", { class: "mono num" }, String(v.version)),
    h(
      "td",
      null,
      statePill(v),
      how ? h("div", { class: "sub" }, how) : null,
      v.problems.length ? h("ul", { class: "config-problems" }, ...v.problems.map((p) => h("li", { class: "mono" }, p))) : null,
    ),
    h("td", null, v.author),
    h("td", { class: "nowrap" }, h("span", { title: clock(v.createdAt) }, ago(v.createdAt))),
  );
}

function problemsBox(err: unknown): HTMLElement {
  const problems = err instanceof ApiError ? err.problems : [];
  return h(
    "div",
    { class: "notice notice-bad", testid: "config-problems", role: "alert" },
    h("strong", null, err instanceof ApiError && err.status === 422 ? "Not saved: the configuration has problems" : errorText(err)),
    problems.length
      ? h(
          "ul",
          { class: "config-problems" },
          ...problems.map((p) => h("li", { testid: "config-problem" }, h("span", { class: "mono" }, p.path), `: ${p.message}`)),
        )
      : null,
  );
}
