/**
 * Cuts a byte stream into MQTT control packets (fixed header [MQTT-2.2], remaining length as a
 * variable byte integer of at most 4 bytes [MQTT-2.2.3]). The size limit is applied as soon as the
 * remaining length is known, before any of the body is buffered, so an oversize packet costs at
 * most a few bytes of memory, also before authentication.
 */

export interface Frame {
  readonly type: number;
  readonly flags: number;
  /** The whole packet as received (fixed header included). */
  readonly bytes: Buffer;
  /** Offset of the variable header within bytes. */
  readonly bodyStart: number;
}

export type FrameError = "malformed_length" | "packet_too_large";

const NEED_MORE = -1;
const MALFORMED = -2;
const TOO_LARGE = -3;

export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxPacketSize: number) {}

  /** Frames completed by chunk; an error string when the stream can no longer be trusted. */
  push(chunk: Buffer): Frame[] | FrameError {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    let buf = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    let offset = 0;
    for (;;) {
      const header = this.header(buf, offset);
      if (header === NEED_MORE) break;
      if (header === MALFORMED) return "malformed_length";
      if (header === TOO_LARGE) return "packet_too_large";
      const headerLength = header & 7;
      const total = headerLength + (header - headerLength) / 8;
      if (buf.length - offset < total) break;
      const first = buf[offset] as number;
      frames.push({ type: first >> 4, flags: first & 0x0f, bytes: buf.subarray(offset, offset + total), bodyStart: headerLength });
      offset += total;
    }
    if (offset === buf.length) {
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      buf = buf.subarray(offset);
      this.pending = [buf];
      this.pendingBytes = buf.length;
    }
    return frames;
  }

  /**
   * The fixed header at offset as one number, remaining length × 8 + header length (2–5 bytes), so
   * that no object is made per packet; or NEED_MORE, MALFORMED, TOO_LARGE.
   */
  private header(buf: Buffer, offset: number): number {
    if (buf.length - offset < 2) return NEED_MORE;
    let remaining = 0;
    for (let i = 0; i < 4; i++) {
      const b = buf[offset + 1 + i];
      if (b === undefined) return NEED_MORE;
      remaining += (b & 0x7f) * 128 ** i;
      if ((b & 0x80) === 0) {
        const headerLength = 2 + i;
        if (headerLength + remaining > this.maxPacketSize) return TOO_LARGE;
        return remaining * 8 + headerLength;
      }
    }
    return MALFORMED;
  }
}
