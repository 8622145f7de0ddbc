/**
 * `bv-edge claim --cloud URL --code CODE`: exchanges a one-time claim code at the cloud
 * (POST /api/edge/claim) for this edge's identity and token, and writes them to the credentials
 * file with mode 0600, owned by the service user when run as root (edge/deploy/README.md).
 */
import { chownSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { BvError } from "@bitvelocity/common";
import { z } from "zod";
import type { EdgeCredentialsFile } from "./credentials-file.js";

const identitySchema = z.object({
  edgeId: z.string(),
  siteId: z.string(),
  token: z.string(),
  grpcUrl: z.string(),
  certificateFingerprint: z.string().nullable(),
});

export interface ClaimOptions {
  readonly cloud: string;
  readonly code: string;
  readonly file: string;
  /** Own the file as this user when running as root (the service user); ignored when absent. */
  readonly owner?: string;
}

export async function claimEdge(options: ClaimOptions): Promise<EdgeCredentialsFile> {
  let base: URL;
  try {
    base = new URL(options.cloud);
  } catch {
    throw new BvError("CLAIM_BAD_URL", "fatal", `--cloud ${JSON.stringify(options.cloud)} is not a URL (e.g. https://cloud.example.com)`);
  }
  if (base.protocol !== "https:" && base.protocol !== "http:")
    throw new BvError("CLAIM_BAD_URL", "fatal", `--cloud must be an http(s) URL, not ${base.protocol}`);
  let res: Response;
  try {
    res = await fetch(new URL("/api/edge/claim", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: options.code }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new BvError("CLAIM_UNREACHABLE", "transient", `cannot reach ${base.origin}: ${(err as Error).message}`, { cause: err });
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new BvError(error?.code ?? `HTTP_${res.status}`, "fatal", error?.message ?? `the cloud answered ${res.status}`);
  }
  const identity = identitySchema.parse(body);
  const credentials: EdgeCredentialsFile = {
    version: 1,
    edge_id: identity.edgeId,
    site_id: identity.siteId,
    uplink_url: identity.grpcUrl,
    token: identity.token,
    cloud_url: base.origin,
    certificate_fingerprint: identity.certificateFingerprint,
    claimed_at: new Date().toISOString(),
  };
  writeSecretFile(options.file, `${JSON.stringify(credentials, null, 2)}\n`, options.owner);
  return credentials;
}

/** Writes with 0600 from the first byte (never readable by others, not even briefly), then renames into place. */
function writeSecretFile(file: string, text: string, owner: string | undefined): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
  const ids = owner && process.getuid?.() === 0 ? lookupUser(owner) : undefined;
  if (ids) chownSync(tmp, ids.uid, ids.gid);
  renameSync(tmp, file);
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [user, , uid, gid] = line.split(":");
      if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no /etc/passwd: leave the owner as is
  }
  return undefined;
}
