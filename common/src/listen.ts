/** Binding a server to its port, with a clear error when the port is taken. */
import type { Server } from "node:net";
import { BvError } from "./errors.js";

export interface ListenSpec {
  readonly host: string;
  readonly port: number;
  /** For the error message: what listens, and where to change its port. */
  readonly what: string;
  readonly configKey: string;
  readonly envVar: string;
}

/** True for "address already in use", however the library reports it (grpc-js only gives a message). */
export function isAddressInUse(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; message?: unknown };
  return e.code === "EADDRINUSE" || (typeof e.message === "string" && /EADDRINUSE|address already in use/i.test(e.message));
}

/** The fatal PORT_IN_USE error, naming the config key and the environment variable that change the port. */
export function portInUseError(spec: ListenSpec, cause: unknown): BvError {
  return new BvError(
    "PORT_IN_USE",
    "fatal",
    `${spec.what} port ${spec.port} is already in use; set ${spec.configKey} in the config or ${spec.envVar}`,
    { cause },
  );
}

/** Listens and resolves with the actual port (port 0 picks a free one). */
export function listen(server: Server, spec: ListenSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (isAddressInUse(err)) {
        reject(portInUseError(spec, err));
      } else {
        reject(
          new BvError("LISTEN_FAILED", "fatal", `${spec.what} cannot listen on ${spec.host}:${spec.port}: ${err.message}`, { cause: err }),
        );
      }
    };
    const onListening = () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : spec.port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(spec.port, spec.host);
  });
}

/** Closes a server; resolves when it has stopped (already-closed servers resolve at once). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
