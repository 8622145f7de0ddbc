/** The outbox's health alarms (disk short or full, locked, recovered from corruption). */
export class Alarms {
  private readonly active = new Map<string, string>();

  constructor(private readonly onChange?: (code: string, detail: string | undefined) => void) {}

  /** Raises (or re-words) an alarm; tells the listener only when something changed. */
  raise(code: string, detail: string): void {
    if (this.active.get(code) === detail) return;
    this.active.set(code, detail);
    this.onChange?.(code, detail);
  }

  clear(code: string): void {
    if (!this.active.delete(code)) return;
    this.onChange?.(code, undefined);
  }

  /** "CODE: detail" for each active alarm. */
  list(): string[] {
    return [...this.active].map(([code, detail]) => `${code}: ${detail}`);
  }
}
