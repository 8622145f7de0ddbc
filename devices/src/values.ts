import type { CommandDef, DeviceType, MetricDef, MetricValue, MetricValues, ParamDef } from "./types.js";

/** Why a value was refused; `path: message` style, stable enough to show to users. */
export interface ValueProblem {
  readonly path: string;
  readonly message: string;
}

function checkNumber(path: string, v: unknown, def: { min?: number; max?: number }, integer: boolean): ValueProblem | undefined {
  if (typeof v !== "number" || !Number.isFinite(v)) return { path, message: `expected a finite number, got ${describe(v)}` };
  if (integer && !Number.isInteger(v)) return { path, message: `expected an integer, got ${v}` };
  if (def.min !== undefined && v < def.min) return { path, message: `${v} is below the minimum ${def.min}` };
  if (def.max !== undefined && v > def.max) return { path, message: `${v} is above the maximum ${def.max}` };
  return undefined;
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "no value";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

export function checkMetric(def: MetricDef, v: unknown, path = def.name): ValueProblem | undefined {
  switch (def.type) {
    case "number":
      return checkNumber(path, v, def, false);
    case "integer":
      return checkNumber(path, v, def, true);
    case "boolean":
      return typeof v === "boolean" ? undefined : { path, message: `expected a boolean, got ${describe(v)}` };
    case "enum":
      return typeof v === "string" && (def.values ?? []).includes(v)
        ? undefined
        : { path, message: `expected one of ${(def.values ?? []).join(", ")}, got ${describe(v)}` };
  }
}

function checkParam(def: ParamDef, v: unknown, path: string): ValueProblem | undefined {
  switch (def.type) {
    case "number":
      return checkNumber(path, v, def, false);
    case "integer":
      return checkNumber(path, v, def, true);
    case "boolean":
      return typeof v === "boolean" ? undefined : { path, message: `expected a boolean, got ${describe(v)}` };
    case "enum":
      return typeof v === "string" && (def.values ?? []).includes(v)
        ? undefined
        : { path, message: `expected one of ${(def.values ?? []).join(", ")}, got ${describe(v)}` };
    case "string":
      if (typeof v !== "string") return { path, message: `expected a string, got ${describe(v)}` };
      if (def.maxLength !== undefined && v.length > def.maxLength) return { path, message: `longer than ${def.maxLength} characters` };
      return undefined;
  }
}

/** Each device type's metrics by name, built on first use (the catalog's types are fixed objects). */
const metricIndex = new WeakMap<DeviceType, Map<string, MetricDef>>();
function metricsOf(type: DeviceType): Map<string, MetricDef> {
  let index = metricIndex.get(type);
  if (!index) {
    index = new Map(type.metrics.map((m) => [m.name, m]));
    metricIndex.set(type, index);
  }
  return index;
}

function withProblem(problems: ValueProblem[] | undefined, p: ValueProblem): ValueProblem[] {
  if (!problems) return [p];
  problems.push(p);
  return problems;
}

/**
 * Validates metric values against a device type: unknown metrics, wrong types, out of range. Valid
 * values are returned as they came (the same object: every key of it is a checked metric); nothing
 * is allocated unless a value is refused — this runs once per reading on the edge and the cloud.
 */
export function validateValues(type: DeviceType, values: unknown): { values: MetricValues } | { problems: ValueProblem[] } {
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    return { problems: [{ path: "values", message: `expected an object of metric values, got ${describe(values)}` }] };
  }
  const defs = metricsOf(type);
  const record = values as Record<string, unknown>;
  let problems: ValueProblem[] | undefined;
  let count = 0;
  for (const name in record) {
    if (!Object.hasOwn(record, name)) continue;
    count++;
    const def = defs.get(name);
    if (!def) {
      problems = withProblem(problems, { path: `values.${name}`, message: `unknown metric for device type ${type.type}` });
      continue;
    }
    const v = record[name];
    // The common case inline: a finite number within the range of a number metric.
    if (def.type === "number" && typeof v === "number" && Number.isFinite(v) && !(v < (def.min ?? v)) && !(v > (def.max ?? v))) continue;
    const p = checkMetric(def, v, `values.${name}`);
    if (p) problems = withProblem(problems, p);
  }
  if (count === 0) return { problems: [{ path: "values", message: "no metric values" }] };
  return problems ? { problems } : { values: record as MetricValues };
}

export function findCommand(type: DeviceType, name: string): CommandDef | undefined {
  return type.commands.find((c) => c.name === name);
}

/** Validates a command and its parameters against a device type. */
export function validateCommand(
  type: DeviceType,
  name: string,
  params: unknown,
): { command: CommandDef; params: Record<string, MetricValue> } | { problems: ValueProblem[] } {
  const command = findCommand(type, name);
  if (!command) return { problems: [{ path: "name", message: `device type ${type.type} has no command ${JSON.stringify(name)}` }] };
  const given = params ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    return { problems: [{ path: "params", message: `expected an object, got ${describe(given)}` }] };
  }
  const problems: ValueProblem[] = [];
  const out: Record<string, MetricValue> = {};
  const record = given as Record<string, unknown>;
  for (const def of command.params) {
    const v = record[def.name];
    if (v === undefined) {
      if (def.required) problems.push({ path: `params.${def.name}`, message: "is required" });
      continue;
    }
    const p = checkParam(def, v, `params.${def.name}`);
    if (p) problems.push(p);
    else out[def.name] = v as MetricValue;
  }
  for (const key of Object.keys(record)) {
    if (!command.params.some((p) => p.name === key)) problems.push({ path: `params.${key}`, message: "unknown parameter" });
  }
  return problems.length > 0 ? { problems } : { command, params: out };
}
