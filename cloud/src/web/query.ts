/** Query-string parsing with `path: message` problems (400 with problems on failure). */
import type { Problem } from "../platform/errors.js";
import { HttpError } from "./http-errors.js";

export class QueryReader {
  readonly problems: Problem[] = [];

  constructor(private readonly query: Record<string, unknown>) {}

  string(name: string): string | undefined {
    const v = this.query[name];
    if (v === undefined || v === "") return undefined;
    if (typeof v !== "string") {
      this.problems.push({ path: name, message: "expected a single value" });
      return undefined;
    }
    return v;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
      this.problems.push({ path: name, message: `expected an integer, got ${JSON.stringify(raw)}` });
      return undefined;
    }
    if (n < min || n > max) {
      this.problems.push({ path: name, message: `expected ${min} to ${max}, got ${n}` });
      return undefined;
    }
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    if (!(values as readonly string[]).includes(raw)) {
      this.problems.push({ path: name, message: `expected one of ${values.join(", ")}` });
      return undefined;
    }
    return raw as T;
  }

  /** Throws a 400 listing every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new HttpError(400, "VALIDATION_FAILED", "invalid query parameters", this.problems);
  }
}
