/** Where sources (the MQTT broker, connectors) hand readings: the outbox, or anything with its shape. */
import type { DeadLetterInput, NewReading } from "../outbox/types.js";

export interface ReadingSink {
  /** Resolves with the reading's seq once it is durably committed. */
  append(reading: NewReading): Promise<number>;
  /** Resolves once the refused message is durably recorded. */
  deadLetter(input: DeadLetterInput): Promise<void>;
}
