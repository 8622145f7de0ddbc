// The fault proxy with real sockets: an echo server behind it and real clients in front.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../e2e/support.js";
import { TcpProxy } from "./tcp-proxy.js";

/** An echo server that also remembers what it received. */
function echoServer(): { server: Server; received: () => string; closes: () => number; listen: () => Promise<number> } {
  let received = "";
  let closes = 0;
  const server = createServer((socket) => {
    socket.on("close", () => {
      closes += 1;
    });
    socket.on("data", (chunk) => {
      received += chunk.toString();
      socket.write(chunk);
    });
    socket.on("error", () => undefined);
  });
  return {
    server,
    received: () => received,
    closes: () => closes,
    listen: () => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))),
  };
}

interface Client {
  socket: Socket;
  text: () => string;
  closed: Promise<void>;
}

function client(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(port, "127.0.0.1");
    socket.on("data", (chunk) => {
      text += chunk.toString();
    });
    socket.on("error", () => undefined);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.once("connect", () => resolve({ socket, text: () => text, closed }));
    socket.once("error", reject);
  });
}

describe("TcpProxy", () => {
  let echo: ReturnType<typeof echoServer>;
  let proxy: TcpProxy;
  const clients: Socket[] = [];
  const open = async (): Promise<Client> => {
    const c = await client(proxy.port);
    clients.push(c.socket);
    return c;
  };

  beforeEach(async () => {
    echo = echoServer();
    const port = await echo.listen();
    proxy = new TcpProxy({ host: "127.0.0.1", port });
    await proxy.listen();
  });

  afterEach(async () => {
    for (const s of clients.splice(0)) s.destroy();
    await proxy.close();
    echo.server.close();
  });

  it("passes bytes both ways", async () => {
    const c = await open();
    c.socket.write("hello");
    await waitFor("the echo", () => c.text() === "hello" || undefined, 5000, 10);
    expect(proxy.stats.bytesToTarget).toBe(5);
    expect(proxy.stats.bytesToClient).toBe(5);
  });

  it("refuse resets live and new connections", async () => {
    const live = await open();
    proxy.setMode("refuse");
    await live.closed;
    const fresh = await open().catch(() => undefined);
    if (fresh) await fresh.closed;
    expect(proxy.stats.refused).toBe(1);
    proxy.setMode("pass");
    const again = await open();
    again.socket.write("back");
    await waitFor("the echo after refuse", () => again.text() === "back" || undefined, 5000, 10);
  });

  it("drop destroys live connections and new ones once they carry data", async () => {
    const live = await open();
    proxy.setMode("drop");
    await live.closed;
    const fresh = await open();
    fresh.socket.write("x");
    await fresh.closed;
    expect(echo.received()).toBe("");
  });

  it("stall holds bytes with sockets open, and releases them on pass", async () => {
    const c = await open();
    proxy.setMode("stall");
    c.socket.write("held");
    const fresh = await open();
    fresh.socket.write("also");
    await new Promise((r) => setTimeout(r, 300));
    expect(echo.received()).toBe("");
    expect(c.socket.destroyed).toBe(false);
    expect(proxy.connections).toBe(2);
    proxy.setMode("pass");
    await waitFor("the held bytes", () => (c.text() === "held" && fresh.text() === "also") || undefined, 5000, 10);
  });

  it("stall does not tell the target that the client went away, until it ends", async () => {
    const c = await open();
    c.socket.write("x");
    await waitFor("the echo", () => c.text() === "x" || undefined, 5000, 10);
    proxy.setMode("stall");
    c.socket.destroy();
    await c.closed;
    await new Promise((r) => setTimeout(r, 200));
    expect(echo.closes()).toBe(0);
    proxy.setMode("pass");
    await waitFor("the target to see the close", () => echo.closes() === 1 || undefined, 5000, 10);
  });

  it("half-open forwards one way, discards the other, and closes the tainted link afterwards", async () => {
    const c = await open();
    proxy.setMode("half-open");
    c.socket.write("lost reply");
    await waitFor("the target to receive", () => echo.received() === "lost reply" || undefined, 5000, 10);
    await waitFor("the reply to be discarded", () => proxy.stats.discardedBytes === 10 || undefined, 5000, 10);
    expect(c.text()).toBe("");
    proxy.setMode("half-open", { discard: "to-target" });
    await c.closed;
    const other = await open();
    other.socket.write("unheard");
    await waitFor("the request to be discarded", () => proxy.stats.discardedBytes === 17 || undefined, 5000, 10);
    expect(echo.received()).toBe("lost reply");
    proxy.setMode("pass");
    await other.closed;
  });
});
