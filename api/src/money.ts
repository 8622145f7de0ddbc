/**
 * Money typed by a person, as integer minor units (`@bitvelocity/api/money`, browser-safe, no zod).
 * "12.50" becomes 1250 by joining the digit strings ("12" + "50"), never by multiplying a float:
 * 0.29 * 100 is 28.999999999999996 in IEEE 754, and Math.round would only hide that for a while.
 * The same parsing reads a tax rate in percent as basis points ("5.5" → 550).
 */

export type ParsedAmount = { ok: true; minor: number } | { ok: false; reason: string };

const DECIMAL = /^(\d*)(?:[.,](\d*))?$/;

/**
 * Parses a non-negative decimal with at most `fractionDigits` decimals ("12", "12.5", "12.50",
 * "12,50") into an integer scaled by 10^fractionDigits. Refuses signs, exponents, grouping
 * separators ("1,234.50"), more decimals than the currency has, and anything above `max`.
 */
export function parseMinorUnits(text: string, fractionDigits = 2, max = 1_000_000_000): ParsedAmount {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: false, reason: "enter an amount" };
  const m = DECIMAL.exec(trimmed);
  if (!m) return { ok: false, reason: "expected a plain amount such as 12.50 (digits and one decimal point)" };
  const whole = m[1] ?? "";
  const fraction = m[2] ?? "";
  if (whole === "" && fraction === "") return { ok: false, reason: "expected digits" };
  if (fraction.length > fractionDigits) {
    return { ok: false, reason: fractionDigits === 0 ? "expected a whole amount" : `at most ${fractionDigits} decimals` };
  }
  const digits = `${whole}${fraction.padEnd(fractionDigits, "0")}`.replace(/^0+(?=\d)/, "");
  // 15 digits stay below 2^53: the integer below is exact.
  if (digits.length > 15) return { ok: false, reason: `at most ${formatMinorUnits(max, fractionDigits)}` };
  const minor = Number(digits);
  if (minor > max) return { ok: false, reason: `at most ${formatMinorUnits(max, fractionDigits)}` };
  return { ok: true, minor };
}

/** The inverse for an input's value: 1250 → "12.50" (digits only, no currency sign or grouping). */
export function formatMinorUnits(minor: number, fractionDigits = 2): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`expected a non-negative integer, got ${minor}`);
  if (fractionDigits === 0) return String(minor);
  const s = String(minor).padStart(fractionDigits + 1, "0");
  return `${s.slice(0, -fractionDigits)}.${s.slice(-fractionDigits)}`;
}
