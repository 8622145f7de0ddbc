/** Commands to devices: sending one (operator) and following its status. */
import { z } from "zod";
import { EpochMs, route, Value } from "./common.js";

export const CommandState = z.enum(["pending", "delivered", "succeeded", "failed", "expired", "rejected"]);
export type CommandState = z.infer<typeof CommandState>;

export const Command = z.object({
  id: z.string(),
  deviceId: z.string(),
  edgeId: z.string(),
  name: z.string(),
  params: z.record(z.string(), Value),
  status: CommandState,
  message: z.string().nullable(),
  result: z.unknown(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
  expiresAt: EpochMs,
  requestedBy: z.string(),
});
export type Command = z.infer<typeof Command>;

export const MAX_COMMAND_TTL_S = 86_400;

/** The parameters are checked against the device type's command definition by the server. */
export const SendCommandBody = z.object({
  name: z.string("expected a command name").min(1, "expected a command name"),
  params: z.record(z.string(), z.unknown()).optional(),
  /** Seconds the command may wait for its edge; default 60. */
  ttl_s: z
    .number(`expected an integer from 1 to ${MAX_COMMAND_TTL_S}`)
    .int(`expected an integer from 1 to ${MAX_COMMAND_TTL_S}`)
    .min(1, `expected an integer from 1 to ${MAX_COMMAND_TTL_S}`)
    .max(MAX_COMMAND_TTL_S, `expected an integer from 1 to ${MAX_COMMAND_TTL_S}`)
    .optional(),
});
export type SendCommandBody = z.infer<typeof SendCommandBody>;

export const commandRoutes = {
  send: route({
    method: "post",
    path: "/api/devices/:id/commands",
    summary: "Send a command to a device (operator)",
    role: "operator",
    body: SendCommandBody,
    status: 202,
    response: z.object({ command: Command }),
  }),
  forDevice: route({
    method: "get",
    path: "/api/devices/:id/commands",
    summary: "Commands of a device, newest first",
    status: 200,
    response: z.object({ commands: z.array(Command) }),
  }),
  get: route({ method: "get", path: "/api/commands/:id", summary: "One command", status: 200, response: z.object({ command: Command }) }),
};
