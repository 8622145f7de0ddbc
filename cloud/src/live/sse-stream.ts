/**
 * Server-Sent Events for scripts (`curl -N -H 'Authorization: Bearer bvt_…' …/stream`): one
 * device's readings as `event: reading` lines. Same rules as the socket.io hub: bus listeners
 * only append to a bounded per-client buffer, written at once while the client keeps up and
 * coalesced into one write while the response has not drained (flush-gate.ts, at most `throttleMs`);
 * a client that does not read (write buffer full) is not written to and its oldest readings are dropped.
 * Format: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import type { ServerResponse } from "node:http";
import { Counter, Gauge, type Registry } from "prom-client";
import type { EventBus } from "../platform/event-bus.js";
import type { DeviceSummary, ReadingsCommitted } from "../platform/events.js";
import { ClientBuffer } from "./client-buffer.js";
import { FlushGate } from "./flush-gate.js";

export interface SseOptions {
  readonly bus: EventBus;
  readonly throttleMs: number;
  readonly maxBuffered: number;
  readonly registry: Registry;
  /** A comment line this often keeps proxies from closing an idle stream. */
  readonly heartbeatMs?: number;
}

interface SseClient {
  readonly res: ServerResponse;
  readonly deviceId: string;
  readonly buffer: ClientBuffer;
  readonly gate: FlushGate;
}

export class SseFanout {
  private readonly byDevice = new Map<string, Set<SseClient>>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribers: (() => void)[];
  private readonly dropped: Counter;
  private readonly clients: Gauge;
  private count = 0;

  constructor(private readonly options: SseOptions) {
    const registers = [options.registry];
    this.dropped = new Counter({ name: "bv_cloud_sse_dropped_total", help: "Readings dropped for slow SSE clients", registers });
    this.clients = new Gauge({ name: "bv_cloud_sse_clients", help: "Connected Server-Sent Events clients", registers });
    this.unsubscribers = [
      options.bus.on("readingsCommitted", (e) => this.onReadings(e)),
      options.bus.on("deviceUpdated", (d) => this.onDevice(d)),
    ];
    this.heartbeat = setInterval(() => {
      for (const set of this.byDevice.values()) for (const c of set) if (!c.res.writableNeedDrain) c.res.write(": ping\n\n");
    }, options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /** Starts streaming one device to this response; ends when the client goes away. */
  open(res: ServerResponse, device: DeviceSummary): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers responses unless told not to.
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    res.write(`retry: 3000\nevent: device\ndata: ${JSON.stringify(device)}\n\n`);
    const buffer = new ClientBuffer(this.options.maxBuffered);
    // write() returning false (writableNeedDrain) is Node's back-pressure signal; "drain" ends it.
    const gate = new FlushGate(
      { busy: () => res.writableNeedDrain, slow: () => res.writableNeedDrain, write: () => this.write(client) },
      this.options.throttleMs,
    );
    const client: SseClient = { res, deviceId: device.id, buffer, gate };
    res.on("drain", () => gate.drained());
    let set = this.byDevice.get(device.id);
    if (!set) {
      set = new Set();
      this.byDevice.set(device.id, set);
    }
    set.add(client);
    this.clients.set(++this.count);
    res.on("close", () => {
      gate.close();
      const s = this.byDevice.get(device.id);
      s?.delete(client);
      if (s?.size === 0) this.byDevice.delete(device.id);
      this.clients.set(--this.count);
    });
  }

  close(): void {
    for (const off of this.unsubscribers.splice(0)) off();
    clearInterval(this.heartbeat);
    for (const set of this.byDevice.values())
      for (const c of set) {
        c.gate.close();
        c.res.end();
      }
    this.byDevice.clear();
  }

  private onReadings(e: ReadingsCommitted): void {
    if (this.byDevice.size === 0) return;
    for (const r of e.readings) {
      const set = this.byDevice.get(r.deviceId);
      if (!set) continue;
      for (const c of set) {
        const n = c.buffer.pushReading({
          deviceId: r.deviceId,
          seq: r.seq,
          ts: r.ts,
          values: r.values,
          edgeId: e.edgeId,
          replay: e.replay,
        });
        if (n > 0) this.dropped.inc(n);
        c.gate.poke();
      }
    }
  }

  private onDevice(d: DeviceSummary): void {
    for (const c of this.byDevice.get(d.id) ?? []) {
      c.buffer.pushDevice(d);
      c.gate.poke();
    }
  }

  private write(c: SseClient): void {
    if (c.buffer.empty) return;
    const out = c.buffer.drain();
    let text = "";
    for (const r of out.readings) {
      const edge = r.edgeId ?? "";
      text += `event: reading\nid: ${edge}:${r.seq}\ndata: ${JSON.stringify(r)}\n\n`;
    }
    for (const d of out.devices) text += `event: device\ndata: ${JSON.stringify(d)}\n\n`;
    c.res.write(text);
  }
}
