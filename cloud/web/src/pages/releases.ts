/**
 * Releases (admin): publish an agent package built by package.mjs (the cloud signs it with its
 * release key), roll a release out in stages — chosen sites first, then a stable percentage of the
 * fleet — and follow each edge's version and update state, with the last error.
 */
import type { EdgeUpdate, Release, Site } from "@bitvelocity/api";
import { scrollTable } from "../components/scroll-table.js";
import { empty, errorBox, errorText, loading, panel, pill } from "../components/ui.js";
import { ApiError, api } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { ago, bytes, clock } from "../lib/format.js";
import { releasesApi, UPDATE_TONE } from "../lib/releases-api.js";
import { href } from "../lib/router.js";
import { type Page, Scope } from "../lib/scope.js";

export function releasesPage(): Page {
  const scope = new Scope();
  const el = h("main", { class: "page" }, loading());
  load(el, scope).catch((err: unknown) => {
    if (!scope.disposed) replace(el, errorBox(err));
  });
  return { el, scope, title: "Releases" };
}

const FILE_NAME = /^bv-edge_(.+)_(arm64|armhf|amd64)\.deb$/;

function failure(err: unknown): HTMLElement {
  const problems = err instanceof ApiError ? err.problems.map((p) => h("div", null, `${p.path}: ${p.message}`)) : [];
  return h("div", { class: "notice notice-bad", role: "alert" }, errorText(err), ...problems);
}

async function load(el: HTMLElement, scope: Scope): Promise<void> {
  const [{ sites }, first, updates] = await Promise.all([api.sites(), releasesApi.list(), releasesApi.edgeUpdates()]);
  if (scope.disposed) return;
  let releases = first.releases;
  const list = h("div");
  const edges = h("div");
  const rolloutSlot = h("div", { "aria-live": "polite" });
  const renderEdges = (rows: EdgeUpdate[]) => replace(edges, rows.length ? edgeTable(rows) : empty("No edge has connected yet."));
  const renderList = () =>
    replace(
      list,
      releases.length
        ? releaseTable(releases, (r) => replace(rolloutSlot, rolloutForm(r, sites, done)))
        : empty("No release published yet."),
    );
  const reload = async () => {
    const [l, u] = await Promise.all([releasesApi.list(), releasesApi.edgeUpdates()]);
    if (scope.disposed) return;
    releases = l.releases;
    renderList();
    renderEdges(u.edges);
  };
  const done = (message: HTMLElement) => {
    replace(rolloutSlot, message);
    reload().catch(() => {});
  };
  renderList();
  renderEdges(updates.edges);
  scope.every(5000, () => {
    reload().catch(() => {});
  });

  const result = h("div", { "aria-live": "polite" });
  const file = h("input", { class: "input", id: "release-file", testid: "release-file", type: "file", required: true });
  file.accept = ".deb";
  const version = h("input", {
    class: "input",
    id: "release-version",
    testid: "release-version",
    placeholder: "e.g. 0.2.0",
    required: true,
  });
  const arch = h(
    "select",
    { class: "input", id: "release-arch", testid: "release-arch" },
    ...["arm64", "armhf", "amd64"].map((a) => h("option", { value: a }, a)),
  );
  const deadline = h("input", {
    class: "input",
    id: "release-deadline",
    testid: "release-deadline",
    type: "number",
    min: "10",
    max: "3600",
    placeholder: "default",
  });
  // package.mjs names files bv-edge_<version>_<arch>.deb: fill the fields from the name.
  file.addEventListener("change", () => {
    const m = FILE_NAME.exec(file.files?.[0]?.name ?? "");
    if (!m) return;
    version.value = m[1] ?? "";
    arch.value = m[2] ?? "arm64";
  });
  const field = (label: string, control: HTMLElement, forId: string) =>
    h("div", { class: "field" }, h("label", { for: forId }, label), control);
  const form = h(
    "form",
    { class: "stack", testid: "release-form" },
    field("Package (.deb from npm run package:edge)", file, "release-file"),
    field("Version", version, "release-version"),
    field("Architecture", arch, "release-arch"),
    field("Health deadline, seconds (optional)", deadline, "release-deadline"),
    h("button", { class: "btn btn-primary", type: "submit", testid: "release-publish" }, "Publish and sign"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    replace(result, h("p", { class: "muted" }, `Uploading ${bytes(chosen.size)}…`));
    releasesApi
      .publish(new Blob([chosen], { type: "application/vnd.debian.binary-package" }), {
        version: version.value.trim(),
        arch: arch.value,
        ...(deadline.value ? { healthDeadlineS: Number(deadline.value) } : {}),
      })
      .then(({ release }) => {
        form.reset();
        replace(
          result,
          h(
            "div",
            { class: "notice notice-muted", testid: "release-result" },
            `Published ${release.version} for ${release.arch} (${bytes(release.size)}, SHA-256 ${release.sha256.slice(0, 16)}…), signed. `,
            "No edge gets it until you roll it out.",
          ),
        );
        return reload();
      })
      .catch((err: unknown) => replace(result, failure(err)));
  });

  replace(
    el,
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, "Releases"))),
    panel(
      h("div", { class: "panel-title" }, h("h2", null, "Publish a release"), h("span", { class: "muted" }, "signed by this cloud")),
      form,
      result,
    ),
    panel(h("div", { class: "panel-title" }, h("h2", null, "Releases")), list, rolloutSlot),
    panel(h("div", { class: "panel-title" }, h("h2", null, "Edges")), edges),
  );
}

function releaseTable(releases: Release[], onRollout: (r: Release) => void): HTMLElement {
  const rows = releases.map((r) => {
    const button = h("button", { class: "btn", type: "button", testid: "release-rollout-open" }, "Roll out…");
    button.addEventListener("click", () => onRollout(r));
    const reach = [
      r.rollout.sites.length ? `sites ${r.rollout.sites.join(", ")}` : "",
      r.rollout.percent ? `${r.rollout.percent} % of edges` : "",
    ]
      .filter(Boolean)
      .join(" + ");
    return h(
      "tr",
      { testid: "release-row", data: { version: r.version, arch: r.arch } },
      h("td", null, h("div", { class: "strong mono" }, r.version), h("div", { class: "sub" }, `${r.arch} · ${bytes(r.size)}`)),
      h("td", null, reach || h("span", { class: "muted" }, "not rolled out")),
      h(
        "td",
        { testid: "release-counts" },
        `${r.healthy} healthy`,
        r.failed ? h("div", { class: "sub" }, `${r.failed} refused or rolled back`) : null,
      ),
      h("td", { class: "nowrap", title: clock(r.createdAt) }, ago(r.createdAt)),
      h("td", null, button),
    );
  });
  return scrollTable(
    "Releases",
    h(
      "table",
      { class: "table", testid: "releases" },
      h("thead", null, h("tr", null, ...["Release", "Rollout", "Edges", "Published", ""].map((x) => h("th", null, x)))),
      h("tbody", null, ...rows),
    ),
  );
}

function rolloutForm(r: Release, sites: Site[], done: (message: HTMLElement) => void): HTMLElement {
  const boxes = sites.map((s) => {
    const id = `rollout-site-${s.id}`;
    const box = h("input", { type: "checkbox", id, value: s.id, testid: "rollout-site" });
    box.checked = r.rollout.sites.includes(s.id);
    return { box, label: h("label", { class: "check" }, box, ` ${s.name}`) };
  });
  const percent = h("input", {
    class: "input",
    id: "rollout-percent",
    testid: "rollout-percent",
    type: "number",
    min: "0",
    max: "100",
    value: String(r.rollout.percent),
  });
  const form = h(
    "form",
    { class: "stack", testid: "rollout-form" },
    h("h3", null, `Roll out ${r.version} (${r.arch})`),
    h("div", { class: "release-rollout" }, h("fieldset", null, h("legend", null, "Sites first"), ...boxes.map((b) => b.label))),
    h("div", { class: "field" }, h("label", { for: "rollout-percent" }, "Then this share of all edges (%)"), percent),
    h("button", { class: "btn btn-primary", type: "submit", testid: "rollout-apply" }, "Apply rollout"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    releasesApi
      .rollout(r.id, { sites: boxes.filter((b) => b.box.checked).map((b) => b.box.value), percent: Number(percent.value) || 0 })
      .then(({ release, offered }) =>
        done(
          h(
            "div",
            { class: "notice notice-muted", testid: "rollout-result" },
            `${release.version} is rolled out; offered now to ${offered} connected edge${offered === 1 ? "" : "s"}, to the others when they connect.`,
          ),
        ),
      )
      .catch((err: unknown) => done(failure(err)));
  });
  return panel(form);
}

function edgeTable(rows: EdgeUpdate[]): HTMLElement {
  return scrollTable(
    "Edges and their agent updates",
    h(
      "table",
      { class: "table", testid: "edge-updates" },
      h("thead", null, h("tr", null, ...["Edge", "Running", "Update", "Last error"].map((x) => h("th", null, x)))),
      h(
        "tbody",
        null,
        ...rows.map((u) =>
          h(
            "tr",
            { testid: "edge-update-row", data: { edgeId: u.edgeId, state: u.state ?? "" } },
            h("td", null, h("a", { href: href.edge(u.edgeId) }, u.edgeId), h("div", { class: "sub" }, `${u.siteId} · ${u.arch || "?"}`)),
            h("td", { class: "mono" }, u.runningVersion || "—"),
            u.state
              ? h("td", null, pill(u.state, UPDATE_TONE[u.state], "edge-update-state"), h("div", { class: "sub mono" }, u.version))
              : h("td", null, "—"),
            h("td", { class: "wrap update-error" }, u.error || "—"),
          ),
        ),
      ),
    ),
  );
}
