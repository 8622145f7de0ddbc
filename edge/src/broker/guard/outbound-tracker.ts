/**
 * Follows the packets aedes writes to one client, as a byte-level state machine (aedes writes a
 * packet in several pieces), to see CONNACKs and the acknowledgements that end an inbound
 * in-flight message (PUBACK for QoS 1, PUBCOMP for QoS 2). It never buffers a body.
 */
import { CONNACK, PUBACK, PUBCOMP } from "./packet-check.js";

export interface OutboundEvents {
  connack(returnCode: number): void;
  acked(packetId: number): void;
}

export class OutboundTracker {
  private state: "type" | "length" | "body" = "type";
  private type = 0;
  private remaining = 0;
  private multiplier = 1;
  private head: number[] = [];

  constructor(private readonly events: OutboundEvents) {}

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      const b = chunk[i] as number;
      if (this.state === "type") {
        this.type = b >> 4;
        this.remaining = 0;
        this.multiplier = 1;
        this.head = [];
        this.state = "length";
        i++;
      } else if (this.state === "length") {
        this.remaining += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        i++;
        if ((b & 0x80) === 0) this.state = this.remaining === 0 ? this.done() : "body";
      } else {
        const wanted = this.interesting() ? Math.max(0, 2 - this.head.length) : 0;
        const take = Math.min(this.remaining, chunk.length - i);
        for (let k = 0; k < Math.min(wanted, take); k++) this.head.push(chunk[i + k] as number);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = this.done();
      }
    }
  }

  private interesting(): boolean {
    return this.type === CONNACK || this.type === PUBACK || this.type === PUBCOMP;
  }

  private done(): "type" {
    if (this.type === CONNACK && this.head.length === 2) this.events.connack(this.head[1] as number);
    else if ((this.type === PUBACK || this.type === PUBCOMP) && this.head.length === 2) {
      this.events.acked(((this.head[0] as number) << 8) | (this.head[1] as number));
    }
    return "type";
  }
}
