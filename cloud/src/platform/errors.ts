/** Error codes shared by domains and mapped to HTTP statuses in web/ (STYLE.md: codes, not text). */
import { BvError } from "@bitvelocity/common";

export interface Problem {
  readonly path: string;
  readonly message: string;
}

export class ValidationError extends BvError {
  constructor(
    message: string,
    readonly problems: readonly Problem[] = [],
  ) {
    super("VALIDATION_FAILED", "protocol", message);
  }
}

export class NotFoundError extends BvError {
  constructor(what: string, id: string) {
    super("NOT_FOUND", "protocol", `unknown ${what} ${JSON.stringify(id)}`);
  }
}
