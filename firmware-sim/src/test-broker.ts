/**
 * Test support: a real aedes broker on 127.0.0.1 (port 0, or a given port to "restart" it) that
 * checks the derived device secrets and records every PUBLISH it receives from a client.
 * `tester` / `tester-secret` is a privileged test client.
 */
import { createServer, type Server, type Socket } from "node:net";
import { deriveDeviceSecret } from "@bitvelocity/common";
import { Aedes, type Client } from "aedes";

export interface ReceivedPublish {
  readonly clientId: string;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
}

export interface TestBroker {
  readonly port: number;
  readonly url: string;
  readonly received: ReceivedPublish[];
  /** CONNECT attempts per client id, accepted or not. */
  readonly connectAttempts: Map<string, number>;
  /** Drops a client's connection from the broker side (its session stays). */
  kick(clientId: string): boolean;
  close(): Promise<void>;
}

export const TESTER = { username: "tester", password: "tester-secret" };

export interface TestBrokerOptions {
  readonly port?: number;
  /** Hold every PUBLISH this long before accepting it (and so before the PUBACK), like an edge committing it. */
  readonly publishDelayMs?: number;
}

export async function startTestBroker(fleetSecret: string, options: TestBrokerOptions = {}): Promise<TestBroker> {
  const port = options.port ?? 0;
  const broker = await Aedes.createBroker();
  const delay = options.publishDelayMs ?? 0;
  if (delay > 0) broker.authorizePublish = (_client, _packet, done) => setTimeout(() => done(null), delay);
  const received: ReceivedPublish[] = [];
  const connectAttempts = new Map<string, number>();
  broker.authenticate = (client, username, password, done) => {
    connectAttempts.set(client.id, (connectAttempts.get(client.id) ?? 0) + 1);
    const pass = password?.toString("utf8") ?? "";
    const ok =
      (username === TESTER.username && pass === TESTER.password) ||
      (username === client.id && username !== undefined && pass === deriveDeviceSecret(fleetSecret, username));
    if (ok) return done(null, true);
    const err = Object.assign(new Error("bad username or password"), { returnCode: 4 as const });
    return done(err, false);
  };
  broker.on("publish", (packet, client) => {
    if (!client) return;
    received.push({
      clientId: client.id,
      topic: packet.topic,
      payload: Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
    });
  });
  const live = new Map<string, Client>();
  broker.on("clientReady", (client) => live.set(client.id, client));
  broker.on("clientDisconnect", (client) => {
    if (live.get(client.id) === client) live.delete(client.id);
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    port: actual,
    url: `mqtt://127.0.0.1:${actual}`,
    received,
    connectAttempts,
    kick(clientId: string) {
      const client = live.get(clientId);
      if (!client) return false;
      client.conn.destroy();
      return true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
