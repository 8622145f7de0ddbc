/**
 * `bv-edge claim --cloud URL --code CODE`: exchanges a one-time claim code at the cloud
 * (POST /api/edge/claim) for this edge's identity and token, and writes them to the credentials
 * file with mode 0600, owned by the service user when run as root (edge/deploy/README.md).
 */
import { chownSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BvError } from "@bitvelocity/common";
import { z } from "zod";
import { checkPin, type JsonAnswer, postJson } from "./claim-request.js";
import type { EdgeCredentialsFile } from "./credentials-file.js";

const identitySchema = z.object({
  edgeId: z.string(),
  siteId: z.string(),
  token: z.string(),
  grpcUrl: z.string(),
  certificateFingerprint: z.string().nullable(),
  caCertificate: z.string().nullable().default(null),
  releasePublicKey: z.string().nullable().default(null),
});

export interface ClaimOptions {
  readonly cloud: string;
  readonly code: string;
  readonly file: string;
  /** Own the file as this user when running as root (the service user); ignored when absent. */
  readonly owner?: string;
  /** Trust the cloud's HTTPS by this public-key pin (`sha256//…`) instead of a CA (its development CA). */
  readonly pin?: string;
  /** Trust the cloud's HTTPS by this CA file instead of the system CAs. */
  readonly caFile?: string;
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
  if (options.pin) checkPin(options.pin);
  let ca: Buffer | undefined;
  try {
    ca = options.caFile ? readFileSync(options.caFile) : undefined;
  } catch (err) {
    throw new BvError("CLAIM_BAD_CA", "fatal", `--ca-file ${options.caFile}: ${(err as Error).message}`);
  }
  let res: JsonAnswer;
  try {
    res = await postJson(
      new URL("/api/edge/claim", base),
      { code: options.code },
      { ...(options.pin ? { pin: options.pin } : {}), ...(ca ? { ca } : {}) },
    );
  } catch (err) {
    if (err instanceof BvError) throw err;
    throw new BvError("CLAIM_UNREACHABLE", "transient", `cannot reach ${base.origin}: ${(err as Error).message}`, { cause: err });
  }
  const body = res.body;
  if (res.status < 200 || res.status > 299) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new BvError(error?.code ?? `HTTP_${res.status}`, "fatal", error?.message ?? `the cloud answered ${res.status}`);
  }
  const identity = identitySchema.parse(body);
  // The CA EdgeSync's certificate chains to (the cloud's development CA), beside the credentials.
  const caFile = identity.caCertificate ? join(dirname(options.file), "cloud-ca.pem") : null;
  if (caFile && identity.caCertificate) writeSecretFile(caFile, identity.caCertificate, options.owner, 0o644);
  const credentials: EdgeCredentialsFile = {
    version: 1,
    edge_id: identity.edgeId,
    site_id: identity.siteId,
    uplink_url: identity.grpcUrl,
    token: identity.token,
    cloud_url: base.origin,
    certificate_fingerprint: identity.certificateFingerprint,
    ca_file: caFile,
    claimed_at: new Date().toISOString(),
    release_public_key: identity.releasePublicKey,
  };
  writeSecretFile(options.file, `${JSON.stringify(credentials, null, 2)}\n`, options.owner);
  return credentials;
}

/** Writes with 0600 (or `mode`) from the first byte (never readable by others, not even briefly), then renames into place. */
function writeSecretFile(file: string, text: string, owner: string | undefined, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode, flag: "wx" });
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
