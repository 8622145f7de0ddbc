// Shared pieces of the cross-package journeys: temp dirs, HTTP helpers, waiting, service checks.

import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bv-${prefix}-`));
}

/** On CI (BV_REQUIRE_SERVICES=1) a missing service fails the run; elsewhere the test is skipped with the reason. */
export function missingService(what: string, available: boolean): string | undefined {
  if (available) return undefined;
  if (process.env.BV_REQUIRE_SERVICES === "1") throw new Error(`required service missing: ${what}`);
  console.warn(`skipping: ${what} is not available on this machine`);
  return what;
}

export const CHROMIUM = process.env.BV_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = (): boolean => existsSync(CHROMIUM);

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export class Api {
  cookie = "";
  constructor(readonly base: string) {}

  async login(username: string, password: string): Promise<Response> {
    const res = await fetch(`${this.base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0] ?? "";
    return res;
  }

  request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set("cookie", this.cookie);
    if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
    return fetch(`${this.base}${path}`, { ...init, headers });
  }

  async json<T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.request(path, init);
    if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path} → ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  }
}

export interface AckedLine {
  deviceId: string;
  n: number;
  ts: number;
  values: Record<string, number | boolean | string>;
}

export function readAckedLog(file: string): AckedLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as AckedLine);
}

/** Parses one metric's value (summed over labels) from Prometheus text. */
export function metricValue(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

/** True when a TCP connection to the service opens (it is then closed at once). */
export function reachable(target: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(target);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export type HttpsAnswer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One HTTPS request trusting `ca` (the cloud's development CA); the whole body as text. */
export function https(url: string, ca: Buffer, init: { method?: string; body?: unknown; cookie?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json", ...(init.cookie ? { cookie: init.cookie } : {}) };
    const req = request(url, { method: init.method ?? "GET", ca, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(init.body === undefined ? undefined : JSON.stringify(init.body));
  });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core's serious and critical violations on the page as it is now, as "rule (impact, n nodes: targets)".
 * Injected through the DevTools protocol: the dashboard's CSP (rightly) refuses an inline script tag.
 */
export async function axeProblems(page: import("playwright-core").Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: unknown[] }[] }[] }> };
      }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => String(n.target[0])) }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}, ${v.targets.length} nodes: ${v.targets.slice(0, 3).join(", ")})`);
}
