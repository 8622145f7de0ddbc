/**
 * The acked log: one JSON line per telemetry message the broker acknowledged (PUBACK for QoS 1,
 * write completed for QoS 0). End-to-end tests compare it with what reached the cloud, so a line
 * means "the broker took responsibility for this reading", written once per (deviceId, n).
 */
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { ConfigError } from "@bitvelocity/common";
import type { MetricValues } from "@bitvelocity/devices";

export interface AckedRecord {
  readonly deviceId: string;
  /** Per-device message number, from 1. */
  readonly n: number;
  readonly ts: number;
  readonly values: MetricValues;
}

export interface AckedSink {
  write(record: AckedRecord): void;
  close(): Promise<void>;
}

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 200;

/** A single buffered append stream: lines are batched and written every FLUSH_MS or FLUSH_BYTES. */
export class AckedLog implements AckedSink {
  private readonly stream: WriteStream;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: Error | undefined;
  lines = 0;

  /** Opens the file now (throws ConfigError if it cannot be), not after the fleet ran for an hour. */
  constructor(readonly file: string) {
    let fd: number;
    try {
      fd = openSync(file, "a");
    } catch (err) {
      throw new ConfigError([`acked log ${file}: cannot open for appending: ${(err as Error).message}`]);
    }
    this.stream = createWriteStream(file, { fd, flags: "a" });
    this.stream.on("error", (err) => {
      this.failure = err;
    });
  }

  write(record: AckedRecord): void {
    if (this.closed) return;
    const line = `${JSON.stringify({ deviceId: record.deviceId, n: record.n, ts: record.ts, values: record.values })}\n`;
    this.buffer.push(line);
    this.bufferedBytes += line.length;
    this.lines += 1;
    if (this.bufferedBytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    this.stream.write(this.buffer.join(""));
    this.buffer = [];
    this.bufferedBytes = 0;
  }

  /** Flushes what is buffered and closes the file; rejects if any write failed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    return new Promise((resolve, reject) => {
      if (this.failure) {
        this.stream.destroy();
        reject(this.failure);
        return;
      }
      this.stream.once("error", reject);
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}

/** Used when no log file was asked for. */
export const noAckedLog: AckedSink = { write: () => undefined, close: () => Promise.resolve() };
