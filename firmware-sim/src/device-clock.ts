/**
 * A device's wall clock. With an RTC it follows the host clock (plus any injected jump). Without
 * one it starts at the Unix epoch on every boot and counts uptime — readings are stamped 1970 —
 * until the device syncs (SNTP after it is online), as a Pi or an ESP32 without a battery-backed
 * clock does. The edge recognises such stamps as "clock not set" (devices payload.ts).
 */
export class DeviceClock {
  private bootAt = performance.now();
  private offsetMs = 0;
  private synced: boolean;
  private lastTs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly hasRtc: boolean,
    private readonly wall: () => number = Date.now,
  ) {
    this.synced = hasRtc;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** The timestamp of a reading taken now: strictly increasing while the clock only moves forward. */
  stamp(): number {
    const raw = Math.round(this.synced ? this.wall() + this.offsetMs : performance.now() - this.bootAt + this.offsetMs);
    const ts = raw > this.lastTs ? raw : this.lastTs + 1;
    this.lastTs = ts;
    return ts;
  }

  /** SNTP answered: the clock is now right (an injected jump is corrected too). */
  sync(): void {
    this.synced = true;
    this.offsetMs = 0;
    this.lastTs = Number.NEGATIVE_INFINITY;
  }

  /** An injected clock jump (positive: into the future). A backwards jump really goes backwards. */
  jump(ms: number): void {
    this.offsetMs += ms;
    this.lastTs = Number.NEGATIVE_INFINITY;
  }

  /** Power lost: without an RTC the time is gone and the next boot starts at 1970 again. */
  powerLoss(): void {
    this.bootAt = performance.now();
    this.lastTs = Number.NEGATIVE_INFINITY;
    if (!this.hasRtc) {
      this.synced = false;
      this.offsetMs = 0;
    }
  }
}
