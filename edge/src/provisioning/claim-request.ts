/**
 * The claim's one HTTP(S) request. With the system CAs it is a plain fetch. With `--ca-file` the
 * cloud's certificate must chain to that CA; with `--pin sha256//…` (curl's --pinnedpubkey form)
 * the certificate's public key must be exactly the pinned one — checked on the open TLS socket
 * before the claim code is written to it, so a wrong server never sees the code.
 */
import { createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { request } from "node:http";
import { connect, type TLSSocket } from "node:tls";
import { BvError } from "@bitvelocity/common";

export interface TrustOptions {
  /** `sha256//<base64 of the SPKI's SHA-256>`: replaces the CA check. */
  readonly pin?: string;
  /** PEM of the CA the cloud's certificate must chain to. */
  readonly ca?: Buffer;
}

export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

const PIN = /^sha256\/\/[A-Za-z0-9+/]{43}=$/;

export function checkPin(pin: string): void {
  if (!PIN.test(pin))
    throw new BvError("CLAIM_BAD_PIN", "fatal", `--pin ${JSON.stringify(pin)} is not a pin (sha256//<44 base64 characters>)`);
}

/** The pin of a peer certificate, in the form checkPin accepts. */
export function pinOf(raw: Buffer): string {
  const spki = new X509Certificate(raw).publicKey.export({ type: "spki", format: "der" });
  return `sha256//${createHash("sha256").update(spki).digest("base64")}`;
}

export async function postJson(url: URL, body: unknown, trust: TrustOptions, timeoutMs = 30_000): Promise<JsonAnswer> {
  const text = JSON.stringify(body);
  if (url.protocol === "http:" || (!trust.pin && !trust.ca)) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: text,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  }
  const socket = await openTls(url, trust, timeoutMs);
  return new Promise<JsonAnswer>((resolve, reject) => {
    // HTTP over the already verified TLS socket (node:http takes no https: URL, hence the parts).
    const req = request(
      {
        host: url.hostname,
        port: url.port || 443,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
        createConnection: () => socket,
        timeout: timeoutMs,
      },
      (res) => {
        let raw = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          raw += chunk;
        });
        res.on("end", () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(text);
  });
}

async function openTls(url: URL, trust: TrustOptions, timeoutMs: number): Promise<TLSSocket> {
  const port = Number(url.port || 443);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const socket = connect({
    host,
    port,
    ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
    ALPNProtocols: ["http/1.1"],
    // A pin replaces the chain check; a CA file keeps it (and the host name check).
    rejectUnauthorized: !trust.pin,
    ...(trust.ca ? { ca: trust.ca } : {}),
  });
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
  await once(socket, "secureConnect");
  socket.setTimeout(0);
  if (trust.pin) {
    const presented = pinOf(socket.getPeerCertificate().raw);
    if (presented !== trust.pin) {
      socket.destroy();
      throw new BvError(
        "CLAIM_PIN_MISMATCH",
        "fatal",
        `the cloud at ${url.host} presented the key ${presented}, not the pinned ${trust.pin}: check the command on the Add edge page`,
      );
    }
  }
  return socket;
}
