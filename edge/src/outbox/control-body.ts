/**
 * The storage form of a control-lane body: a JSON document (UTF-8). The outbox writes gap records
 * (`GapRecordInput`) and dead-letter notices (`DeadLetterNotice`) this way, and the northbound
 * stores command results the same way; each uplink turns them into its own wire messages. The
 * outbox encodes no wire format.
 */
const OPEN_BRACE = 0x7b;

export function encodeControlBody(document: object): Uint8Array {
  return Buffer.from(JSON.stringify(document));
}

/**
 * The stored document, or undefined when the body is not one: rows written by agents before the
 * uplinks encoded their own messages hold an encoded protobuf message, whose first byte is a field
 * tag and never `{`.
 */
export function decodeControlBody(body: Uint8Array): unknown {
  if (body[0] !== OPEN_BRACE) return undefined;
  return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
}
