/** Serves a SlaveBus as Modbus TCP (MBAP, Messaging on TCP/IP §3.1.3); the unit id selects the slave. */
import { createServer, type Server, type Socket } from "node:net";
import { closeServer, listen } from "@bitvelocity/common";
import { splitTcpFrames, tcpFrame } from "@bitvelocity/devices";
import type { SlaveBus } from "./bus.js";

export class TcpSlaveServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly bus: SlaveBus) {}

  async listen(port = 0, host = "127.0.0.1"): Promise<number> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    return listen(server, { port, host, what: "Modbus TCP slave", configKey: "modbus.tcp_port", envVar: "BV_SIM_MODBUS_TCP_PORT" });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await closeServer(this.server);
    this.server = undefined;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    let rx: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      const { frames, rest, bad } = splitTcpFrames(Buffer.concat([rx, chunk]));
      rx = rest;
      if (bad) {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const pdu = this.bus.answer(f.unitId, f.pdu);
        if (pdu) socket.write(tcpFrame(f.transactionId, f.unitId, pdu));
      }
    });
  }
}
