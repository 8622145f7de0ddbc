/**
 * One way to load a program's config (DESIGN.md §7): a YAML file, then `BV_*` environment
 * variables, then CLI overrides, validated once by a zod schema that holds the defaults.
 * Every problem is reported at once as `path: message`.
 */
import { readFileSync } from "node:fs";
import type { z } from "zod";
import { BvError } from "./errors.js";
import { parseYaml } from "./simple-yaml.js";

/** Maps an environment variable to a dotted config path, e.g. `BV_HTTP_PORT` → `http.port`. */
export type EnvMap = Record<string, string>;

export class ConfigError extends BvError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super("CONFIG_INVALID", "fatal", `invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/** Environment values are strings; numbers and booleans are coerced so the schema sees types. */
function coerce(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === "true") return true;
  if (raw === "false") return false;
  return raw;
}

export interface LoadOptions {
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly envMap?: EnvMap;
  /** Dotted path → value, applied last (CLI flags, tests). */
  readonly overrides?: Record<string, unknown>;
  /** Documents laid over the file and environment, before the overrides (remote configuration). */
  readonly layers?: readonly Record<string, unknown>[];
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `over` laid on `base`: mappings merge key by key, lists and values replace. Neither input is changed. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const below = out[key];
    out[key] = isMapping(below) && isMapping(value) ? mergeConfig(below, value) : value;
  }
  return out;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([`${file}: cannot read: ${(err as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML: ${(err as Error).message}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError([`${file}: expected a mapping at the top level`]);
  return doc as Record<string, unknown>;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`);
}

export function loadConfig<S extends z.ZodType>(schema: S, options: LoadOptions = {}): z.output<S> {
  let raw: Record<string, unknown> = options.file ? readConfigFile(options.file) : {};
  const env = options.env ?? process.env;
  for (const [name, path] of Object.entries(options.envMap ?? {})) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, coerce(value));
  }
  for (const doc of options.layers ?? []) raw = mergeConfig(raw, doc);
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(raw, path, value);
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  return result.data;
}

/** The problems a config load reports: runs `load` and returns its ConfigError's list (for tests and tools). */
export function configProblems(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected the configuration to be refused with a ConfigError");
}
