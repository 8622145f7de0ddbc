import { describe, expect, it } from "vitest";
import { formatMinorUnits, parseMinorUnits } from "./money.js";

describe("parseMinorUnits", () => {
  it("reads amounts as integer minor units", () => {
    expect(parseMinorUnits("12.50")).toEqual({ ok: true, minor: 1250 });
    expect(parseMinorUnits("12.5")).toEqual({ ok: true, minor: 1250 });
    expect(parseMinorUnits("12")).toEqual({ ok: true, minor: 1200 });
    expect(parseMinorUnits(" 12,05 ")).toEqual({ ok: true, minor: 1205 });
    expect(parseMinorUnits("0.07")).toEqual({ ok: true, minor: 7 });
    expect(parseMinorUnits(".5")).toEqual({ ok: true, minor: 50 });
    expect(parseMinorUnits("7.")).toEqual({ ok: true, minor: 700 });
    expect(parseMinorUnits("000")).toEqual({ ok: true, minor: 0 });
  });

  it("is exact where float arithmetic is not", () => {
    // 0.29 * 100 = 28.999999999999996 and 1.005 * 100 = 100.49999999999999 as floats.
    expect(parseMinorUnits("0.29")).toEqual({ ok: true, minor: 29 });
    expect(parseMinorUnits("4.35")).toEqual({ ok: true, minor: 435 });
    expect(parseMinorUnits("1.005", 3)).toEqual({ ok: true, minor: 1005 });
    expect(parseMinorUnits("9999999.99")).toEqual({ ok: true, minor: 999_999_999 });
  });

  it("follows the currency's decimals and reads percent as basis points", () => {
    expect(parseMinorUnits("1500", 0)).toEqual({ ok: true, minor: 1500 });
    expect(parseMinorUnits("15.5", 0).ok).toBe(false);
    expect(parseMinorUnits("1.234", 3)).toEqual({ ok: true, minor: 1234 });
    expect(parseMinorUnits("5.5", 2, 10_000)).toEqual({ ok: true, minor: 550 });
    expect(parseMinorUnits("100", 2, 10_000)).toEqual({ ok: true, minor: 10_000 });
    expect(parseMinorUnits("100.01", 2, 10_000).ok).toBe(false);
  });

  it("refuses what is not a plain non-negative amount, with a reason", () => {
    for (const bad of ["", "  ", ".", "-1", "+1", "1e3", "12.505", "1,234.50", "12 50", "abc", "€12", "12.5.0", "Infinity", "NaN"]) {
      const r = parseMinorUnits(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    }
    expect(parseMinorUnits("12.505")).toEqual({ ok: false, reason: "at most 2 decimals" });
    expect(parseMinorUnits("10000000.01")).toEqual({ ok: false, reason: "at most 10000000.00" });
    expect(parseMinorUnits("99999999999999999999").ok).toBe(false);
  });
});

describe("formatMinorUnits", () => {
  it("writes minor units back as the input reads them", () => {
    expect(formatMinorUnits(1250)).toBe("12.50");
    expect(formatMinorUnits(7)).toBe("0.07");
    expect(formatMinorUnits(0)).toBe("0.00");
    expect(formatMinorUnits(1500, 0)).toBe("1500");
    expect(formatMinorUnits(1234, 3)).toBe("1.234");
    for (const n of [0, 1, 29, 435, 1250, 999_999_999]) expect(parseMinorUnits(formatMinorUnits(n))).toEqual({ ok: true, minor: n });
  });

  it("refuses what is not a non-negative integer", () => {
    expect(() => formatMinorUnits(12.5)).toThrow(RangeError);
    expect(() => formatMinorUnits(-1)).toThrow(RangeError);
  });
});
