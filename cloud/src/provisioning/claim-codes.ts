/**
 * Claim codes: 10 characters from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L),
 * shown as XXXXX-XXXXX (~49 bits). Typed on a Pi's console, so input is forgiving: case,
 * spaces and dashes do not matter. Only a SHA-256 of the normalised code is stored; with the
 * expiry and the attempt limit that is enough for a one-time, short-lived secret.
 */
import { createHash, randomInt } from "node:crypto";

const ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LENGTH = 10;

export function newClaimCode(): string {
  let code = "";
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** The canonical form of what someone typed, or undefined when it cannot be a claim code. */
export function normaliseClaimCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, "");
  if (code.length !== LENGTH) return undefined;
  for (const ch of code) if (!ALPHABET.includes(ch)) return undefined;
  return code;
}

export function claimCodeHash(normalised: string): string {
  return createHash("sha256").update(`bv-claim:${normalised}`).digest("hex");
}
