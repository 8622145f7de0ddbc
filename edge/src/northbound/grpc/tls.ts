/**
 * EdgeSync's channel credentials (docs/security.md): TLS, verified against `uplink.tls.ca_file`
 * (the cloud's CA, e.g. its development CA's ca.pem) or the system CAs, optionally pinned to the
 * server certificate's SHA-256 fingerprint, with the edge's client certificate for mutual TLS.
 * Plain text only with `uplink.tls.insecure: true` (tests, dev), which the agent warns about.
 */
import { readFileSync } from "node:fs";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import type { UplinkConfig } from "../schema.js";

export function channelCredentials(tls: UplinkConfig["tls"]): ChannelCredentials {
  if (tls.insecure) return credentials.createInsecure();
  const pin = tls.fingerprint?.toUpperCase();
  return credentials.createSsl(
    tls.ca_file ? readFileSync(tls.ca_file) : null,
    tls.key_file ? readFileSync(tls.key_file) : null,
    tls.cert_file ? readFileSync(tls.cert_file) : null,
    {
      // Called after the chain verified. A pinned certificate is this exact certificate, whatever
      // name the edge reaches it by (a claimed Pi often uses the cloud's LAN address); else the host check.
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        if (pin)
          return cert.fingerprint256?.toUpperCase() === pin
            ? undefined
            : new Error(`the cloud's certificate ${cert.fingerprint256} is not the pinned ${pin} (uplink.tls.fingerprint)`);
        return checkServerIdentity(tls.server_name ?? host, cert);
      },
    },
  );
}
