/**
 * A payment provider simulator (`bv-sim payments`): the external peer of the cloud's checkout.
 * HTTP/JSON on 127.0.0.1, four money operations, each idempotent by the caller's key (a retried
 * call with the same key answers what the first one did and moves no money twice), a ledger, and
 * fault injection that can be changed while it runs (POST /faults):
 * - `latencyMs`: every money call waits this long before answering;
 * - `errorRate`: share of money calls answered 503 before they do anything (transient: retry);
 * - `timeoutRate`: share of money calls that never answer (the client's timeout must act);
 * - `outage`: every money call answers 503 until switched off (an outage window).
 * A call refused by a fault records nothing, so the client's retry with the same key is safe.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface PaymentFaults {
  latencyMs: number;
  errorRate: number;
  timeoutRate: number;
  outage: boolean;
}

export type LedgerKind = "authorize" | "capture" | "void" | "refund";

export interface LedgerEntry {
  readonly seq: number;
  readonly kind: LedgerKind;
  readonly key: string;
  readonly authorizationId: string;
  readonly orderId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly at: number;
}

interface Authorization {
  id: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  state: "authorized" | "captured" | "voided" | "refunded";
}

type Answer = { status: number; body: unknown };

const MAX_BODY = 16 * 1024;

export class PaymentsSimulator {
  readonly faults: PaymentFaults;
  private readonly ledger: LedgerEntry[] = [];
  private readonly byKey = new Map<string, { fingerprint: string; answer: Answer }>();
  private readonly auths = new Map<string, Authorization>();
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  private calls = 0;

  constructor(
    faults: Partial<PaymentFaults> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.faults = { latencyMs: 0, errorRate: 0, timeoutRate: 0, outage: false, ...faults };
  }

  /** Listens on host:port (0 picks one); resolves to the port. */
  async start(port = 0, host = "127.0.0.1"): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) =>
        send(res, { status: 500, body: { error: { code: "INTERNAL", message: String(err) } } }),
      );
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Closes the listener and every open connection (hung calls included): an outage of the process. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  entries(): readonly LedgerEntry[] {
    return this.ledger;
  }

  /** Money calls received (refused by a fault or not). */
  callCount(): number {
    return this.calls;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim");
    if (req.method === "GET" && url.pathname === "/healthz") return send(res, { status: 200, body: { ok: true } });
    if (req.method === "GET" && url.pathname === "/ledger") return send(res, { status: 200, body: { entries: this.ledger } });
    if (req.method === "GET" && url.pathname === "/faults") return send(res, { status: 200, body: this.faults });
    const body = await readJson(req);
    if (body === undefined) return send(res, { status: 400, body: { error: { code: "BAD_JSON", message: "expected a JSON object" } } });
    if (req.method === "POST" && url.pathname === "/faults") return send(res, this.setFaults(body));
    const kind = MONEY[url.pathname];
    if (req.method !== "POST" || !kind) return send(res, { status: 404, body: { error: { code: "NOT_FOUND", message: url.pathname } } });
    this.calls++;
    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    if (this.faults.outage || this.random() < this.faults.errorRate) {
      return send(res, { status: 503, body: { error: { code: "PROVIDER_UNAVAILABLE", message: "payment provider unavailable" } } });
    }
    if (this.random() < this.faults.timeoutRate) {
      // Never answers: the caller's timeout has to act. Closed by stop().
      this.hanging.add(res);
      res.on("close", () => this.hanging.delete(res));
      return;
    }
    send(res, this.money(kind, body));
  }

  private setFaults(body: Record<string, unknown>): Answer {
    const num = (k: keyof PaymentFaults, max: number) => {
      const v = body[k];
      if (v === undefined) return true;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > max) return false;
      (this.faults as unknown as Record<string, number>)[k] = v;
      return true;
    };
    const ok = num("latencyMs", 600_000) && num("errorRate", 1) && num("timeoutRate", 1);
    if (body.outage !== undefined) {
      if (typeof body.outage !== "boolean")
        return { status: 400, body: { error: { code: "BAD_FAULTS", message: "outage: expected a boolean" } } };
      this.faults.outage = body.outage;
    }
    if (!ok) return { status: 400, body: { error: { code: "BAD_FAULTS", message: "latencyMs ≥ 0, errorRate and timeoutRate in 0..1" } } };
    return { status: 200, body: this.faults };
  }

  /** One money operation, idempotent by key: the same key and body answer the first answer again. */
  private money(kind: LedgerKind, body: Record<string, unknown>): Answer {
    const key = body.key;
    if (typeof key !== "string" || key.length === 0 || key.length > 200) return bad("key: expected a string of 1-200 characters");
    const fingerprint = `${kind}:${JSON.stringify(body)}`;
    const seen = this.byKey.get(key);
    if (seen) {
      if (seen.fingerprint !== fingerprint)
        return { status: 409, body: { error: { code: "KEY_REUSED", message: "this key was used for another request" } } };
      return seen.answer;
    }
    const answer = kind === "authorize" ? this.authorize(key, body) : this.follow(kind, key, body);
    // Only what moved money is remembered: a refused request may be sent again, fixed, with its key.
    if (answer.status < 400) this.byKey.set(key, { fingerprint, answer });
    return answer;
  }

  private authorize(key: string, body: Record<string, unknown>): Answer {
    const { orderId, amountMinor, currency } = body;
    if (typeof orderId !== "string" || orderId === "") return bad("orderId: expected a string");
    if (typeof amountMinor !== "number" || !Number.isSafeInteger(amountMinor) || amountMinor <= 0)
      return bad("amountMinor: expected a positive integer");
    if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) return bad("currency: expected an ISO 4217 code");
    const auth: Authorization = { id: `auth_${randomUUID()}`, orderId, amountMinor, currency, state: "authorized" };
    this.auths.set(auth.id, auth);
    this.record("authorize", key, auth);
    return { status: 200, body: { authorizationId: auth.id, status: auth.state } };
  }

  private follow(kind: Exclude<LedgerKind, "authorize">, key: string, body: Record<string, unknown>): Answer {
    const id = body.authorizationId;
    const auth = typeof id === "string" ? this.auths.get(id) : undefined;
    if (!auth) return { status: 404, body: { error: { code: "UNKNOWN_AUTHORIZATION", message: `unknown authorization ${String(id)}` } } };
    const from: Record<typeof kind, Authorization["state"]> = { capture: "authorized", void: "authorized", refund: "captured" };
    const to: Record<typeof kind, Authorization["state"]> = { capture: "captured", void: "voided", refund: "refunded" };
    if (auth.state !== from[kind]) {
      return { status: 409, body: { error: { code: "INVALID_STATE", message: `cannot ${kind} an authorization that is ${auth.state}` } } };
    }
    auth.state = to[kind];
    this.record(kind, key, auth);
    return { status: 200, body: { authorizationId: auth.id, status: auth.state } };
  }

  private record(kind: LedgerKind, key: string, auth: Authorization): void {
    this.ledger.push({
      seq: this.ledger.length + 1,
      kind,
      key,
      authorizationId: auth.id,
      orderId: auth.orderId,
      amountMinor: auth.amountMinor,
      currency: auth.currency,
      at: Date.now(),
    });
  }
}

const MONEY: Record<string, LedgerKind> = { "/authorize": "authorize", "/capture": "capture", "/void": "void", "/refund": "refund" };

function bad(message: string): Answer {
  return { status: 400, body: { error: { code: "BAD_REQUEST", message } } };
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(answer.status, { "content-type": "application/json" });
  res.end(JSON.stringify(answer.body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  if (req.method !== "POST") return {};
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
