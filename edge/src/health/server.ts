/**
 * `/healthz` and `/metrics` on plain node:http (no framework: memory matters on a Pi).
 * Health is `ok` when every part works, `degraded` when the broker or uplink is down (the outbox
 * keeps readings safe meanwhile), and 503 when the outbox itself is unusable.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "@bitvelocity/common";
import { closeServer, listen } from "@bitvelocity/common";
import type { Registry } from "prom-client";

export type CheckState = "ok" | "down";

export interface HealthChecks {
  broker(): boolean;
  outbox(): boolean;
  uplink(): boolean;
  /** Active alarms ("CODE: detail"): the agent works, but a human should look. */
  alarms?(): readonly string[];
}

export interface HealthOptions {
  readonly host: string;
  readonly port: number;
  readonly edgeId: string;
  readonly registry: Registry;
  readonly checks: HealthChecks;
  readonly logger: Logger;
}

export interface HealthBody {
  readonly status: "ok" | "degraded";
  readonly edgeId: string;
  readonly checks: { broker: CheckState; outbox: CheckState; uplink: CheckState };
  readonly alarms: readonly string[];
}

export function healthBody(edgeId: string, checks: HealthChecks): { code: number; body: HealthBody } {
  const state = (up: boolean): CheckState => (up ? "ok" : "down");
  const result = { broker: state(checks.broker()), outbox: state(checks.outbox()), uplink: state(checks.uplink()) };
  const alarms = checks.alarms?.() ?? [];
  const allOk = Object.values(result).every((s) => s === "ok") && alarms.length === 0;
  return { code: result.outbox === "ok" ? 200 : 503, body: { status: allOk ? "ok" : "degraded", edgeId, checks: result, alarms } };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
}

export class HealthServer {
  private server: Server | undefined;

  constructor(private readonly options: HealthOptions) {}

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.logger.error({ err }, "health request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        else res.destroy();
      });
    });
    const port = await listen(this.server, {
      host: this.options.host,
      port: this.options.port,
      what: "HTTP",
      configKey: "http.port",
      envVar: "BV_EDGE_HTTP_PORT",
    });
    this.options.logger.info({ listener: "http", port }, "listening");
    return port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "method not allowed" });
    if (path === "/healthz") {
      const { code, body } = healthBody(this.options.edgeId, this.options.checks);
      return sendJson(res, code, body);
    }
    if (path === "/metrics") {
      const text = await this.options.registry.metrics();
      res.writeHead(200, { "content-type": this.options.registry.contentType }).end(text);
      return;
    }
    sendJson(res, 404, { error: "not found", path });
  }
}
