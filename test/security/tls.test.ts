/**
 * Issue 16 item 4: TLS on every link. The cloud without `insecure` serves HTTPS and EdgeSync over
 * TLS with its development CA (data_dir/tls); an edge verifying against the wrong CA or pinning
 * the wrong fingerprint is refused, the right ones work; with grpc.client_ca_file an edge bound to
 * a client certificate must present exactly it (mutual TLS). The login cookie is Secure on HTTPS.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { credentials, status } from "@grpc/grpc-js";
import { generate } from "selfsigned";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../cloud/src/platform/tls.js";
import { EdgeLink, PASSWORDS, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { channelCredentials } from "../../edge/src/northbound/grpc/tls.js";
import { prepareSystem, type Service, startCloud, startEdge } from "../../scripts/system.mjs";
import { https, tempDir, waitFor } from "../e2e/support.js";

const links: EdgeLink[] = [];
function link(address: string, creds = credentials.createInsecure()): EdgeLink {
  const l = new EdgeLink(address, creds);
  links.push(l);
  return l;
}

/** Hello with edge-1's credentials; "welcome" or the refusal's gRPC status. */
async function handshake(l: EdgeLink): Promise<string> {
  l.hello("edge-1");
  const outcome = await Promise.race([
    l.next("welcome", 8000).then(() => "welcome"),
    l.closed.then((e) => `closed: ${status[e?.code ?? 0]}`),
  ]);
  return outcome;
}

const httpsJson = (url: string, ca: Buffer, body: unknown) => https(url, ca, { method: "POST", body });

async function otherCa(): Promise<string> {
  return (await generate([{ name: "commonName", value: "someone else's CA" }], { keyType: "ec", algorithm: "sha256" })).cert;
}

afterAll(() => {
  for (const l of links) l.close();
});

describe("the cloud with its development CA", () => {
  let t: TestCloud;
  let ca: Buffer;
  let serverPem: Buffer;
  beforeAll(async () => {
    t = await startTestCloud({ "http.insecure": false, "grpc.insecure": false });
    ca = readFileSync(join(t.config.data_dir, "tls", "ca.pem"));
    serverPem = readFileSync(join(t.config.data_dir, "tls", "server.pem"));
  });
  afterAll(() => t?.close());

  it("serves HTTPS: login sets a Secure, HttpOnly, SameSite=Strict cookie, with HSTS", async () => {
    const res = await httpsJson(`https://127.0.0.1:${t.cloud.ports.http}/api/auth/login`, ca, {
      username: "admin",
      password: PASSWORDS.admin,
    });
    expect(res.status).toBe(200);
    const cookie = ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((c) => c.startsWith("bv_session="));
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(res.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
  });

  it("refuses plain-text EdgeSync, an edge trusting another CA and a wrong pin; the right CA and pin work", async () => {
    const address = t.grpcAddress;
    expect(await handshake(link(address))).toMatch(/^closed: UNAVAILABLE/);
    expect(await handshake(link(address, credentials.createSsl(Buffer.from(await otherCa()))))).toMatch(/^closed: UNAVAILABLE/);
    const wrongPin = channelCredentials({
      ca_file: join(t.config.data_dir, "tls", "ca.pem"),
      fingerprint: `AB${":00".repeat(31)}`,
      insecure: false,
    });
    expect(await handshake(link(address, wrongPin))).toMatch(/^closed: UNAVAILABLE/);
    expect(await handshake(link(address, credentials.createSsl(ca)))).toBe("welcome");
    const pinned = channelCredentials({
      ca_file: join(t.config.data_dir, "tls", "ca.pem"),
      fingerprint: fingerprintOf(serverPem),
      insecure: false,
    });
    expect(await handshake(link(address, pinned))).toBe("welcome");
  });
});

describe("mutual TLS", () => {
  let t: TestCloud;
  let ca: Buffer;
  let edgeCert: { cert: string; key: string };
  let strangerCert: { cert: string; key: string };
  beforeAll(async () => {
    const dir = tempDir("mtls");
    const clientCa = await generate([{ name: "commonName", value: "edge CA" }], {
      keyType: "ec",
      algorithm: "sha256",
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, digitalSignature: true, critical: true },
      ],
    });
    const issue = async (cn: string) => {
      const c = await generate([{ name: "commonName", value: cn }], {
        keyType: "ec",
        algorithm: "sha256",
        ca: { key: clientCa.private, cert: clientCa.cert },
        extensions: [{ name: "extKeyUsage", clientAuth: true }],
      });
      return { cert: c.cert, key: c.private };
    };
    edgeCert = await issue("edge-1");
    strangerCert = await issue("edge-x");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "client-ca.pem"), clientCa.cert);
    t = await startTestCloud({
      "http.insecure": false,
      "grpc.insecure": false,
      "grpc.client_ca_file": join(dir, "client-ca.pem"),
      edges: [
        {
          id: "edge-1",
          site_id: "site-1",
          token_hash: (await import("@bitvelocity/common")).hashSecret("edge-token-for-tests-0123456789"),
          cert_fingerprint: fingerprintOf(edgeCert.cert),
        },
      ],
    });
    ca = readFileSync(join(t.config.data_dir, "tls", "ca.pem"));
  });
  afterAll(() => t?.close());

  it("refuses an edge without a client certificate or with another edge's; its own certificate works", async () => {
    const address = t.grpcAddress;
    expect(await handshake(link(address, credentials.createSsl(ca)))).toMatch(/^closed: UNAVAILABLE/);
    const stranger = credentials.createSsl(ca, Buffer.from(strangerCert.key), Buffer.from(strangerCert.cert));
    expect(await handshake(link(address, stranger))).toBe("closed: UNAUTHENTICATED");
    const own = credentials.createSsl(ca, Buffer.from(edgeCert.key), Buffer.from(edgeCert.cert));
    expect(await handshake(link(address, own))).toBe("welcome");
  });
});

describe("the demo's system (scripts/system.mjs, HTTPS as npm start serves it)", () => {
  let cloud: Service | undefined;
  let edge: Service | undefined;
  afterAll(async () => {
    await edge?.stop();
    await cloud?.stop();
  });

  it("serves the login over HTTPS with a Secure cookie, and the real edge connects over verified TLS", { timeout: 60_000 }, async () => {
    const prepared = prepareSystem({ dir: tempDir("tls-demo"), cloudOverrides: { http: { host: "127.0.0.1", port: 0 } } });
    cloud = startCloud(prepared);
    const ports = await cloud.ready;
    edge = startEdge(prepared, ports.grpc as number);
    await edge.ready;
    const ca = readFileSync(join(prepared.dir, "cloud-data", "tls", "ca.pem"));
    const base = `https://127.0.0.1:${ports.http}`;
    const login = await https(`${base}/api/auth/login`, ca, {
      method: "POST",
      body: { username: "admin", password: prepared.secrets.adminPassword },
    });
    expect(login.status).toBe(200);
    const cookie = ([] as string[]).concat(login.headers["set-cookie"] ?? []).find((c) => c.startsWith("bv_session="));
    expect(cookie).toMatch(/; Secure/i);
    const session = cookie?.split(";")[0] ?? "";
    await waitFor("edge-1 online over TLS", async () => {
      const res = await https(`${base}/api/edges/edge-1`, ca, { cookie: session });
      return res.status === 200 && (JSON.parse(res.body) as { edge: { online: boolean } }).edge.online ? true : undefined;
    });
    expect(cloud.logs()).not.toMatch(/grpc\.insecure/);
  });
});
