/**
 * POSTs JSON to the payment provider over node:http (or https) with a keep-alive Agent: the
 * connections stay open between calls (a checkout makes two), and a call costs far less CPU than
 * fetch (undici, web streams, an AbortSignal per call), which was ~10 % of the cloud's CPU at
 * checkout load (bench/RESULTS.md, "Commerce checkout: separate processes, precompiled statements").
 */
import http from "node:http";
import https from "node:https";

export interface ProviderResponse {
  readonly status: number;
  readonly text: string;
}

/** The connection failed or broke before a whole answer came back (not aborted by the caller). */
export class ProviderConnectionError extends Error {}

export class ProviderHttp {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(baseUrl: string) {
    this.url = new URL(baseUrl);
    const secure = this.url.protocol === "https:";
    // Idle connections are closed after 4 s, before the provider's own keep-alive timeout (Node's
    // default is 5 s) can close one under a request that is just being sent on it.
    this.agent = secure ? new https.Agent({ keepAlive: true, timeout: 4_000 }) : new http.Agent({ keepAlive: true, timeout: 4_000 });
    this.request = secure ? https.request : http.request;
  }

  /** POSTs `body` to `<base>/<path>`; rejects with ProviderConnectionError, or `signal`'s reason once aborted. */
  post(path: string, body: unknown, signal: AbortSignal): Promise<ProviderResponse> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          path: `${this.url.pathname.replace(/\/+$/, "")}/${path}`,
          method: "POST",
          agent: this.agent,
          headers: { "content-type": "application/json", "content-length": payload.length },
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (err) => reject(signal.aborted ? err : new ProviderConnectionError(err.message, { cause: err })));
          res.on("aborted", () => reject(new ProviderConnectionError("the answer was cut off")));
        },
      );
      req.on("error", (err) => reject(signal.aborted ? err : new ProviderConnectionError(err.message, { cause: err })));
      req.end(payload);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
