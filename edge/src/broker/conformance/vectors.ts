/** Loading the conformance vector files (their README, "Shape"): groups flattened into tests with defaults applied. */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { ProtocolLevel } from "./packets.js";

export interface VectorMessage {
  readonly type: "send" | "recv" | "external_publish" | "subscribe" | "unsubscribe";
  readonly payload?: string;
  readonly topic?: string;
  readonly qos?: number;
  readonly retain?: boolean;
}

export interface VectorTest {
  readonly file: string;
  readonly group: string;
  readonly name: string;
  readonly ver: ProtocolLevel;
  readonly connect: boolean;
  readonly expectDisconnect: boolean;
  readonly msgs: readonly VectorMessage[];
}

interface RawTest {
  name: string;
  ver?: number;
  connect?: boolean;
  expect_disconnect?: boolean;
  msgs: VectorMessage[];
}

interface RawGroup {
  group: string;
  ver?: number;
  connect?: boolean;
  expect_disconnect?: boolean;
  disable?: boolean;
  tests: RawTest[];
}

function level(v: number | undefined, where: string): ProtocolLevel {
  const ver = v ?? 4;
  if (ver !== 3 && ver !== 4 && ver !== 5) throw new Error(`${where}: unknown protocol version ${ver}`);
  return ver;
}

export function parseVectorFile(file: string, groups: RawGroup[]): VectorTest[] {
  const out: VectorTest[] = [];
  for (const g of groups) {
    if (g.disable) continue;
    for (const t of g.tests) {
      out.push({
        file,
        group: g.group.trim(),
        name: t.name.trim(),
        ver: level(t.ver ?? g.ver, `${file} ${g.group} ${t.name}`),
        connect: t.connect ?? g.connect ?? true,
        expectDisconnect: t.expect_disconnect ?? g.expect_disconnect ?? true,
        msgs: t.msgs,
      });
    }
  }
  return out;
}

/** Every `*.json` vector file in dir, in file-name order. */
export function loadVectors(dir: string): VectorTest[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  return files.flatMap((f) => parseVectorFile(basename(f, ".json"), JSON.parse(readFileSync(join(dir, f), "utf8")) as RawGroup[]));
}
