/** Pass counts per vector file and protocol version, side by side for several brokers, as Markdown. */
import type { TestResult } from "./runner.js";

const VERSION_NAMES: Record<number, string> = { 3: "3.1", 4: "3.1.1", 5: "5.0" };

export interface Tally {
  pass: number;
  total: number;
}

export type Tallies = Map<string, Tally>;

/** Keys `file|ver` and `TOTAL|ver`. */
export function tally(results: readonly TestResult[]): Tallies {
  const out: Tallies = new Map();
  const add = (key: string, pass: boolean) => {
    const t = out.get(key) ?? { pass: 0, total: 0 };
    t.total++;
    if (pass) t.pass++;
    out.set(key, t);
  };
  for (const r of results) {
    add(`${r.test.file}|${r.test.ver}`, r.pass);
    add(`TOTAL|${r.test.ver}`, r.pass);
  }
  return out;
}

export function totalFor(t: Tallies, versions: readonly number[]): Tally {
  let pass = 0;
  let total = 0;
  for (const v of versions) {
    const x = t.get(`TOTAL|${v}`);
    pass += x?.pass ?? 0;
    total += x?.total ?? 0;
  }
  return { pass, total };
}

export function table(brokers: ReadonlyArray<{ name: string; results: readonly TestResult[] }>): string {
  const tallies = brokers.map((b) => tally(b.results));
  const keys = [...new Set(tallies.flatMap((t) => [...t.keys()]))].sort((a, b) => {
    const [fa, va] = a.split("|") as [string, string];
    const [fb, vb] = b.split("|") as [string, string];
    if ((fa === "TOTAL") !== (fb === "TOTAL")) return fa === "TOTAL" ? 1 : -1;
    return fa === fb ? Number(va) - Number(vb) : fa < fb ? -1 : 1;
  });
  const head = `| file | MQTT | ${brokers.map((b) => b.name).join(" | ")} |\n|---|---|${brokers.map(() => "---|").join("")}`;
  const rows = keys.map((k) => {
    const [file, ver] = k.split("|") as [string, string];
    const cells = tallies.map((t) => {
      const x = t.get(k);
      return x ? `${x.pass}/${x.total}` : "–";
    });
    const name = file === "TOTAL" ? "**total**" : file;
    return `| ${name} | ${VERSION_NAMES[Number(ver)] ?? ver} | ${cells.join(" | ")} |`;
  });
  return `${head}\n${rows.join("\n")}`;
}

export function failures(results: readonly TestResult[]): string[] {
  return results.filter((r) => !r.pass).map((r) => `${r.test.file} · ${r.test.group} · ${r.test.name}: ${r.reason ?? ""}`);
}
