/**
 * The fulfilment message contract (docs/event-contracts/fulfilment.md): one shipment update from
 * the warehouse. The AMQP `message_id` must be present and equal `id`; anything else is poison.
 */
import { z } from "zod";

export const ShipmentUpdateMessage = z.strictObject({
  /** Unique per update; the consumer de-duplicates by it. */
  id: z.string().min(1).max(200),
  orderId: z.string().min(1).max(200),
  stage: z.enum(["picked", "shipped", "delivered"]),
  /** When it happened at the warehouse, ms since the epoch. */
  at: z.number().int().min(0),
  /** Free text shown on the order's timeline. */
  detail: z.string().max(500).default(""),
});
export type ShipmentUpdateMessage = z.infer<typeof ShipmentUpdateMessage>;

export type Parsed = { ok: true; update: ShipmentUpdateMessage } | { ok: false; reason: string };

/** Parses and validates one message body; the reason names what is wrong. */
export function parseShipmentUpdate(content: Buffer, messageId: string | undefined): Parsed {
  if (!messageId) return { ok: false, reason: "missing message_id" };
  let raw: unknown;
  try {
    raw = JSON.parse(content.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const r = ShipmentUpdateMessage.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    return { ok: false, reason: `schema: ${issues}` };
  }
  if (r.data.id !== messageId) return { ok: false, reason: `schema: message_id ${messageId} differs from id ${r.data.id}` };
  return { ok: true, update: r.data };
}
