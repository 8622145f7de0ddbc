/**
 * The edge's credentials file, written by `bv-edge claim` (0600, owned by the service user) and
 * read by the agent at start: its identity, its token and where the cloud is. The agent's YAML
 * stays free of secrets; the file's values override edge_id, site_id, uplink.url and uplink.token.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "@bitvelocity/common";
import { z } from "zod";

export const DEFAULT_CREDENTIALS_FILE = "/etc/bv-edge/credentials.json";

export const credentialsSchema = z.object({
  version: z.literal(1),
  edge_id: z.string().min(1),
  site_id: z.string().min(1),
  /** host:port of the cloud's EdgeSync gRPC endpoint. */
  uplink_url: z.string().min(1),
  token: z.string().min(1),
  cloud_url: z.string().min(1),
  /** EdgeSync's certificate fingerprint, pinned; null: the cloud's EdgeSync is plain text (its grpc.insecure). */
  certificate_fingerprint: z.string().nullable(),
  /** The CA EdgeSync's certificate chains to (written by the claim when it is the cloud's development CA). */
  ca_file: z.string().nullable().default(null),
  claimed_at: z.string(),
  /** PEM (SPKI) of the ed25519 key agent releases must be signed with (the claim's answer); null: updates are refused. */
  release_public_key: z.string().nullable().default(null),
});
export type EdgeCredentialsFile = z.infer<typeof credentialsSchema>;

/** Reads and checks the credentials file (the same errors as credentialOverrides). */
export function readCredentials(file: string): EdgeCredentialsFile {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError([`${file}: this edge is not claimed yet; run: bv-edge claim --cloud URL --code CODE`]);
    throw new ConfigError([`${file}: cannot read the credentials file (${code ?? String(err)})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError([`${file}: not JSON; claim the edge again`]);
  }
  const result = credentialsSchema.safeParse(parsed);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => `${file}: ${i.path.join(".")}: ${i.message}`));
  return result.data;
}

/** Config overrides from the credentials file; a missing or broken file is a ConfigError naming the fix. */
export function credentialOverrides(file: string): Record<string, unknown> {
  const c = readCredentials(file);
  // The link's trust follows what the cloud said at the claim: its certificate pinned (and its CA), or plain text.
  const tls = c.certificate_fingerprint
    ? { "uplink.tls.fingerprint": c.certificate_fingerprint, ...(c.ca_file ? { "uplink.tls.ca_file": c.ca_file } : {}) }
    : { "uplink.tls.insecure": true };
  return { edge_id: c.edge_id, site_id: c.site_id, "uplink.url": c.uplink_url, "uplink.token": c.token, ...tls };
}
