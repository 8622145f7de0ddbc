/**
 * The error taxonomy (STYLE.md): a string code and a kind that tells the host what to do.
 * - transient: retry with backoff
 * - human: stop retrying, raise a health alarm (auth failed, certificate untrusted)
 * - fatal: refuse to start (bad config)
 * - protocol: a bad frame or payload; count it, debug-log it, continue
 */
export type ErrorKind = "transient" | "human" | "fatal" | "protocol";

export class BvError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;

  constructor(code: string, kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BvError";
    this.code = code;
    this.kind = kind;
  }
}

export function isBvError(err: unknown, code?: string): err is BvError {
  return err instanceof BvError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
