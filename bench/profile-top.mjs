// The top frames of a V8 CPU profile (`node --cpu-prof`) by self time, and the share of a few
// subsystems (aedes, mqtt-packet, SQLite, validation, GC), as Markdown table rows.
//   node bench/profile-top.mjs FILE.cpuprofile [N=25]
import { readFileSync } from "node:fs";

const [file, n = "25"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id).callFrame.functionName === "(idle)").reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const frames = new Map();
for (const [id, t] of self) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  if (functionName === "(idle)") continue;
  const where = url
    ? `${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(edge|common|devices)\//, "$1/")}:${lineNumber + 1}`
    : "";
  const key = `${functionName || "(anonymous)"} ${where}`.trim();
  frames.set(key, (frames.get(key) ?? 0) + t);
}
const pct = (t) => `${((t / busy) * 100).toFixed(1)} %`;
console.log(`busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s profiled`);
console.log("| self time (of busy) | frame |\n|---|---|");
for (const [k, t] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) console.log(`| ${pct(t)} | \`${k}\` |`);
const groups = {
  aedes: /aedes/,
  "mqtt-packet": /mqtt-packet/,
  "better-sqlite3": /better-sqlite3/,
  zod: /zod/,
  "(garbage collector)": /^\(garbage collector\)/,
};
const share = Object.fromEntries(Object.keys(groups).map((g) => [g, 0]));
for (const [k, t] of frames) for (const [g, re] of Object.entries(groups)) if (re.test(k)) share[g] += t;
console.log(
  `\nself time by origin: ${Object.entries(share)
    .map(([g, t]) => `${g} ${pct(t)}`)
    .join(", ")}`,
);
