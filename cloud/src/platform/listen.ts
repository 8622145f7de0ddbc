/** Turns "address in use" into a clear, fatal BvError that says how to pick another port. */
import { BvError } from "@bitvelocity/common";

const HINTS = {
  http: "set http.port in the config file or BV_HTTP_PORT",
  grpc: "set grpc.port in the config file or BV_GRPC_PORT",
} as const;

export function isAddressInUse(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; message?: unknown };
  return e.code === "EADDRINUSE" || (typeof e.message === "string" && /EADDRINUSE|address already in use/i.test(e.message));
}

export function portInUse(listener: keyof typeof HINTS, host: string, port: number, cause: unknown): BvError {
  return new BvError("PORT_IN_USE", "fatal", `${listener} port ${port} on ${host} is already in use; ${HINTS[listener]}`, { cause });
}
