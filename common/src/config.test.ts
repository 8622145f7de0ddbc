import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { configProblems, loadConfig } from "./config.js";

const schema = z
  .object({
    version: z.literal(1),
    http: z
      .object({ port: z.number().int().min(0).max(65535).default(8080) })
      .strict()
      .default({ port: 8080 }),
    name: z.string().min(1),
  })
  .strict();

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "bv-config-")), "c.yaml");
  writeFileSync(path, text);
  return path;
}

const problems = configProblems;

describe("loadConfig", () => {
  it("applies schema defaults, then env, then overrides", () => {
    const path = file("version: 1\nname: a\n");
    expect(loadConfig(schema, { file: path, env: {} })).toEqual({ version: 1, name: "a", http: { port: 8080 } });
    const fromEnv = loadConfig(schema, { file: path, env: { BV_HTTP_PORT: "9000" }, envMap: { BV_HTTP_PORT: "http.port" } });
    expect(fromEnv.http.port).toBe(9000);
    expect(loadConfig(schema, { file: path, env: {}, overrides: { "http.port": 1 } }).http.port).toBe(1);
  });

  it("lists every problem at once as path: message", () => {
    const found = problems(() => loadConfig(schema, { file: file("version: 2\nhttp: { port: 70000, extra: 1 }\n"), env: {} }));
    expect(found.some((p) => p.startsWith("version:"))).toBe(true);
    expect(found.some((p) => p.startsWith("http.port:"))).toBe(true);
    expect(found.some((p) => p.startsWith("http:") && /extra/.test(p))).toBe(true);
    expect(found.some((p) => p.startsWith("name:"))).toBe(true);
  });

  it("reports unreadable files and bad YAML clearly", () => {
    expect(problems(() => loadConfig(schema, { file: "/nonexistent/x.yaml" }))[0]).toMatch(/cannot read/);
    expect(problems(() => loadConfig(schema, { file: file("version: [1\n") }))[0]).toMatch(/not valid YAML/);
    expect(problems(() => loadConfig(schema, { file: file("- a\n- b\n") }))[0]).toMatch(/mapping/);
  });
});
