// The MQTTS listener with certificates made by openssl for the test: server-authenticated TLS
// with device passwords, and mutual TLS where the client certificate's CN is the device id.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ReadingSink } from "../pipeline/sink.js";
import { MqttBroker } from "./broker.js";

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"]);
    return true;
  } catch {
    return false;
  }
})();
if (!hasOpenssl && process.env.BV_REQUIRE_SERVICES === "1") throw new Error("required tool missing: openssl");

const sink = { append: async () => undefined, deadLetter: async () => undefined } as unknown as ReadingSink;
const devices = [
  { id: "env-1", type: "env-sensor", secret_hash: hashSecret("secret-one") },
  { id: "env-2", type: "env-sensor", secret_hash: hashSecret("secret-two") },
];
let dir: string;
const file = (n: string) => join(dir, n);
const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });

function makeCert(name: string, cn: string, ext?: string): void {
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
  const extArgs = ext ? ["-extfile", `${name}.ext`] : [];
  if (ext) writeFileSync(file(`${name}.ext`), ext);
  ssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    ...extArgs,
  );
}

beforeAll(() => {
  if (!hasOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), "bv-tls-"));
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bv-test-ca");
  makeCert("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  makeCert("env-1", "env-1");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let broker: MqttBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await broker?.stop();
});

async function start(requireClientCert: boolean): Promise<number> {
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices,
    sink,
    registry: new Registry(),
    logger: silentLogger(),
    tls: {
      port: 0,
      cert_file: file("server.crt"),
      key_file: file("server.key"),
      ca_file: file("ca.crt"),
      require_client_cert: requireClientCert,
    },
  });
  const ports = await broker.start();
  return ports.tls as number;
}

function outcome(port: number, options: IClientOptions): Promise<number | string> {
  const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: readFileSync(file("ca.crt")),
    ...options,
  });
  clients.push(c);
  return new Promise((resolve) => {
    c.once("connect", () => resolve(0));
    c.once("error", (err: Error & { code?: number | string }) => resolve(err.code ?? err.message));
  });
}

describe.skipIf(!hasOpenssl)("MQTTS listener", () => {
  it("serves devices with their passwords over TLS", async () => {
    const port = await start(false);
    expect(port).toBeGreaterThan(0);
    expect(await outcome(port, { clientId: "env-1", username: "env-1", password: "secret-one" })).toBe(0);
    expect(await outcome(port, { clientId: "env-2", username: "env-2", password: "wrong" })).toBe(4);
  });

  it("with require_client_cert: the certificate's CN is the device identity", async () => {
    const port = await start(true);
    const cert = { cert: readFileSync(file("env-1.crt")), key: readFileSync(file("env-1.key")) };
    // No certificate: refused in the TLS handshake.
    expect(await outcome(port, { clientId: "env-1", username: "env-1", password: "secret-one" })).not.toBe(0);
    // A certificate for env-1: connects as env-1 without a password.
    expect(await outcome(port, { clientId: "env-1", ...cert })).toBe(0);
    // The same certificate cannot be used to act as env-2 (CONNACK 5, not authorised).
    expect(await outcome(port, { clientId: "env-2", username: "env-2", password: "secret-two", ...cert })).toBe(5);
  });
});
