import { describe, expect, it } from "vitest";
import { deriveDeviceSecret, generateSecret, hashSecret, isSecretHash, verifySecret } from "./secrets.js";

describe("secrets", () => {
  it("verifies sha256 and scrypt hashes and refuses wrong secrets", () => {
    for (const scheme of ["sha256", "scrypt"] as const) {
      const stored = hashSecret("s3cret", scheme);
      expect(isSecretHash(stored)).toBe(true);
      expect(verifySecret("s3cret", stored)).toBe(true);
      expect(verifySecret("s3cret!", stored)).toBe(false);
    }
  });

  it("salts every hash and never throws on malformed stored values", () => {
    expect(hashSecret("a")).not.toBe(hashSecret("a"));
    for (const bad of ["", "plain", "sha256$1$zz", "md5$1$aa$bb", "scrypt$x$aa$bb"]) {
      expect(verifySecret("a", bad)).toBe(false);
      expect(isSecretHash(bad)).toBe(false);
    }
  });

  it("derives stable per-device secrets", () => {
    expect(deriveDeviceSecret("fleet", "env-0001")).toBe(deriveDeviceSecret("fleet", "env-0001"));
    expect(deriveDeviceSecret("fleet", "env-0001")).not.toBe(deriveDeviceSecret("fleet", "env-0002"));
    expect(generateSecret()).toHaveLength(43);
  });
});
