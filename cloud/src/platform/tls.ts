/**
 * The cloud's certificates (docs/security.md). HTTPS and EdgeSync serve TLS unless `insecure: true`
 * says otherwise (tests, a TLS-terminating proxy), which logs a warning. With no certificate
 * configured the cloud makes a development CA and a server certificate signed by it (the
 * `selfsigned` package) in `<data_dir>/tls/`, once, and prints both SHA-256 fingerprints: give
 * the CA file (`ca.pem`) or the server fingerprint to the edge (`uplink.tls.ca_file` /
 * `uplink.tls.fingerprint`), and expect a browser warning (it is not a public CA).
 */
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";
import type { CloudConfig } from "./config.js";
import type { Logger } from "./logger.js";

export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The development CA that signed `cert` (absent for a configured certificate): clients must be given it or a pin. */
  readonly devCa?: Buffer;
}

export interface CloudTls {
  /** HTTPS's certificate; undefined = plain HTTP (http.insecure). */
  readonly http?: KeyPair;
  /** EdgeSync's certificate and the CA edge client certificates must chain to; undefined = plain text. */
  readonly grpc?: KeyPair & { readonly clientCa?: Buffer };
}

/** SHA-256 fingerprint as `AA:BB:…` (what `openssl x509 -fingerprint -sha256` prints). */
export function fingerprintOf(certPem: Buffer | string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The certificate's public-key pin as curl's `--pinnedpubkey` takes it: `sha256//` + base64 of the SPKI's SHA-256. */
export function publicKeyPin(certPem: Buffer | string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256//${createHash("sha256").update(spki).digest("base64")}`;
}

function readPair(files: { cert_file: string; key_file: string }): KeyPair {
  return { cert: readFileSync(files.cert_file), key: readFileSync(files.key_file) };
}

/** The development CA and server certificate in `dir`, made on first use. */
export async function devCertificate(dir: string, logger: Logger): Promise<KeyPair & { ca: Buffer }> {
  const files = {
    ca: join(dir, "ca.pem"),
    caKey: join(dir, "ca-key.pem"),
    cert: join(dir, "server.pem"),
    key: join(dir, "server-key.pem"),
  };
  if (!existsSync(files.cert) || !existsSync(files.key) || !existsSync(files.ca)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // EC keys: fast to make on a Pi-class machine and at every test start.
    const ca = await generate([{ name: "commonName", value: "BitVelocity development CA" }], {
      keyType: "ec",
      notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
      algorithm: "sha256",
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    const server = await generate([{ name: "commonName", value: "bv-cloud" }], {
      keyType: "ec",
      notAfterDate: new Date(Date.now() + 825 * 86_400_000),
      algorithm: "sha256",
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 2, value: hostname() },
            { type: 7, ip: "127.0.0.1" },
            { type: 7, ip: "::1" },
          ],
        },
      ],
    });
    writeFileSync(files.caKey, ca.private, { mode: 0o600 });
    writeFileSync(files.ca, ca.cert);
    writeFileSync(files.key, server.private, { mode: 0o600 });
    writeFileSync(files.cert, server.cert);
    logger.info({ dir }, "made a development CA and server certificate");
  }
  const pair = { cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(files.ca) };
  logger.info(
    { caFile: files.ca, caFingerprint: fingerprintOf(pair.ca), serverFingerprint: fingerprintOf(pair.cert) },
    "TLS with the development CA: give the edge uplink.tls.ca_file or uplink.tls.fingerprint",
  );
  return pair;
}

export async function resolveCloudTls(config: CloudConfig, logger: Logger): Promise<CloudTls> {
  const needsDev = (!config.http.insecure && !config.http.tls) || (!config.grpc.insecure && !config.grpc.tls);
  const dev = needsDev ? await devCertificate(join(config.data_dir, "tls"), logger) : undefined;
  if (config.http.insecure) logger.warn("http.insecure: the dashboard and API are served over plain HTTP (session cookies without Secure)");
  if (config.grpc.insecure) logger.warn("grpc.insecure: EdgeSync is plain text; edge tokens cross the network in clear");
  const http = config.http.insecure ? undefined : config.http.tls ? readPair(config.http.tls) : dev;
  const grpcPair = config.grpc.insecure ? undefined : config.grpc.tls ? readPair(config.grpc.tls) : dev;
  const clientCa = config.grpc.client_ca_file ? readFileSync(config.grpc.client_ca_file) : undefined;
  return {
    ...(http ? { http: { cert: http.cert, key: http.key, ...(http === dev ? { devCa: dev.ca } : {}) } } : {}),
    ...(grpcPair
      ? {
          grpc: {
            cert: grpcPair.cert,
            key: grpcPair.key,
            ...(grpcPair === dev ? { devCa: dev.ca } : {}),
            ...(clientCa ? { clientCa } : {}),
          },
        }
      : {}),
  };
}
