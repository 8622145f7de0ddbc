/**
 * The ed25519 release key (docs/security.md "Release key"): a PEM (PKCS#8) file the cloud signs
 * release manifests with. Made at first start with mode 0600 when missing; an existing file that
 * is not an ed25519 private key stops the cloud with a clear error rather than signing with
 * something edges were never given.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "@bitvelocity/common";

export interface ReleaseKey {
  readonly privateKey: KeyObject;
  /** PEM (SPKI): what a claimed edge stores and verifies releases with. */
  readonly publicKeyPem: string;
  /** True when this start made the key. */
  readonly created: boolean;
}

export function loadReleaseKey(file: string): ReleaseKey {
  let pem: string | undefined;
  try {
    pem = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw new ConfigError([`releases.key_file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let created = false;
  if (pem === undefined) {
    const { privateKey } = generateKeyPairSync("ed25519");
    pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, pem, { mode: 0o600, flag: "wx" });
    created = true;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new ConfigError([`releases.key_file: ${file} is not a PEM private key (${(err as Error).message})`]);
  }
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new ConfigError([`releases.key_file: ${file} holds a ${privateKey.asymmetricKeyType} key; release keys are ed25519`]);
  const publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  return { privateKey, publicKeyPem, created };
}
