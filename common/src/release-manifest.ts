/**
 * Signed agent releases (docs/security.md, docs/edge-sync.md): the manifest an ed25519 release key
 * signs, as ReleaseOffer in edge_sync.proto defines it. The cloud signs with the private key; the
 * edge verifies with the public key it received when it was claimed, and trusts nothing else.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

export interface ReleaseFacts {
  readonly version: string;
  readonly arch: string;
  readonly size: number;
  /** Hex SHA-256 of the package file. */
  readonly sha256: string;
}

/** "bv-edge-release/v1\n{version}\n{arch}\n{size}\n{sha256 hex}\n", UTF-8. */
export function releaseManifest(r: ReleaseFacts): Buffer {
  return Buffer.from(`bv-edge-release/v1\n${r.version}\n${r.arch}\n${r.size}\n${r.sha256.toLowerCase()}\n`, "utf8");
}

/** Signs the release's manifest with an ed25519 private key (PEM, PKCS#8). */
export function signRelease(privateKeyPem: string | KeyObject, r: ReleaseFacts): Buffer {
  const key = typeof privateKeyPem === "string" ? createPrivateKey(privateKeyPem) : privateKeyPem;
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`the release key must be ed25519, not ${key.asymmetricKeyType}`);
  return sign(null, releaseManifest(r), key);
}

/** True when `signature` is the ed25519 signature of the release's manifest by this public key (PEM, SPKI); never throws. */
export function verifyRelease(publicKeyPem: string, r: ReleaseFacts, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== "ed25519") return false;
    return verify(null, releaseManifest(r), key, signature);
  } catch {
    return false;
  }
}
