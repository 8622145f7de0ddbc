/**
 * Hashing and checking secrets: device credentials, edge tokens, operator passwords, API tokens.
 *
 * Stored form `scheme$params$salt$hash`:
 * - `sha256$1$<salt>$<hex>` for generated high-entropy secrets (device secrets, tokens): fast,
 *   because brute force is hopeless against 128+ random bits and brokers verify on every connect.
 * - `scrypt$<N>.<r>.<p>$<salt>$<hex>` for passwords people choose.
 */
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

export type SecretScheme = "sha256" | "scrypt";

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

export function hashSecret(secret: string, scheme: SecretScheme = "sha256"): string {
  const salt = randomBytes(16).toString("hex");
  if (scheme === "sha256") return `sha256$1$${salt}$${sha256(salt, secret)}`;
  const key = scryptSync(secret, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }).toString("hex");
  return `scrypt$${SCRYPT.N}.${SCRYPT.r}.${SCRYPT.p}$${salt}$${key}`;
}

function sha256(salt: string, secret: string): string {
  return createHash("sha256").update(salt).update("\0").update(secret).digest("hex");
}

/** True when `secret` matches `stored`; false for a malformed stored hash (never throws). */
export function verifySecret(secret: string, stored: string): boolean {
  const [scheme, params, salt, hex] = stored.split("$");
  if (!scheme || !params || !salt || !hex) return false;
  let actual: Buffer;
  if (scheme === "sha256") {
    actual = Buffer.from(sha256(salt, secret), "hex");
  } else if (scheme === "scrypt") {
    const [N, r, p] = params.split(".").map(Number);
    if (!N || !r || !p) return false;
    try {
      actual = scryptSync(secret, salt, hex.length / 2, { N, r, p, maxmem: 256 * N * r });
    } catch {
      return false;
    }
  } else {
    return false;
  }
  const expected = Buffer.from(hex, "hex");
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function isSecretHash(stored: string): boolean {
  return /^(sha256\$1|scrypt\$\d+\.\d+\.\d+)\$[0-9a-f]+\$[0-9a-f]+$/.test(stored);
}

/** A random secret for a machine identity: 32 bytes, URL-safe base64. */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * The per-device secret of a provisioned fleet: HMAC(fleetSecret, deviceId). The simulator
 * derives each device's password this way; the edge only ever stores hashes of them.
 */
export function deriveDeviceSecret(fleetSecret: string, deviceId: string): string {
  return createHmac("sha256", fleetSecret).update(deviceId).digest("base64url");
}
