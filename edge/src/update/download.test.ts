/**
 * Release downloads over HTTPS from a cloud on its own CA (a certificate made by openssl here):
 * trusted through the CA file the claim wrote, refused without it, and resumed with Range.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBvError } from "@bitvelocity/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { download } from "./download.js";

let dir: string;
let server: Server;
let url: URL;
const body = Buffer.alloc(200_000, 7);
const ranges: (string | undefined)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-download-"));
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem", "-out", "cert.pem"].concat([
      "-days",
      "2",
      "-subj",
      "/CN=bv-test-cloud",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]),
    { cwd: dir, stdio: "ignore" },
  );
  server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
    ranges.push(req.headers.range);
    if (req.headers.authorization !== "Bearer tok" || req.headers["x-bv-edge-id"] !== "edge-1") {
      res.writeHead(401).end();
      return;
    }
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
    res.writeHead(from ? 206 : 200, from ? { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` } : {});
    res.end(body.subarray(from));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/edge/releases/r/package`);
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe("release download over HTTPS", () => {
  it("trusts the cloud through the claim's CA file, and resumes a partial file with Range", async () => {
    const file = join(dir, "a.deb.part");
    writeFileSync(file, body.subarray(0, 50_000));
    const got = await download({ url, file, size: body.length, edgeId: "edge-1", token: "tok", caFile: join(dir, "cert.pem") });
    expect(got).toEqual({ resumedFrom: 50_000, bytes: body.length });
    expect(ranges.at(-1)).toBe("bytes=50000-");
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  it("refuses a cloud its CA does not vouch for, and a refused credential needs a human", async () => {
    const file = join(dir, "b.deb.part");
    const untrusted = await download({ url, file, size: body.length, edgeId: "edge-1", token: "tok" }).catch((e: unknown) => e);
    expect(isBvError(untrusted, "UPDATE_DOWNLOAD_FAILED")).toBe(true);
    expect((untrusted as Error).message).toMatch(/certificate/i);
    const refused = await download({ url, file, size: body.length, edgeId: "edge-1", token: "bad", caFile: join(dir, "cert.pem") }).catch(
      (e: unknown) => e,
    );
    expect(isBvError(refused, "UPDATE_DOWNLOAD_FAILED")).toBe(true);
    expect((refused as { kind?: string }).kind).toBe("human");
  });
});
