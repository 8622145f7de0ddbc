/**
 * The MQTTS listener (DESIGN.md §7: 8883 when certificates are configured). With
 * require_client_cert, a connection without a certificate chaining to ca_file is refused in the
 * TLS handshake, and the certificate's subject CN is the device identity the policy checks.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:net";
import { createServer, type TLSSocket } from "node:tls";
import { listen } from "@bitvelocity/common";
import type { BrokerTlsConfig } from "./limits.js";

export async function startTlsListener(
  host: string,
  config: BrokerTlsConfig,
  accept: (socket: TLSSocket, remote: string | undefined, identity?: string) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    {
      cert: readFileSync(config.cert_file),
      key: readFileSync(config.key_file),
      ...(config.ca_file ? { ca: readFileSync(config.ca_file) } : {}),
      requestCert: config.require_client_cert,
      rejectUnauthorized: config.require_client_cert,
    },
    (socket) => {
      let identity: string | undefined;
      if (config.require_client_cert && socket.authorized) {
        const cn = socket.getPeerCertificate().subject?.CN;
        identity = Array.isArray(cn) ? cn[0] : cn;
      }
      accept(socket, socket.remoteAddress, identity);
    },
  );
  const port = await listen(server, { host, port: config.port, what: "MQTTS", configKey: "mqtt.tls.port", envVar: "BV_MQTT_TLS_PORT" });
  return { server, port };
}
