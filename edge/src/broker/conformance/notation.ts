/**
 * The byte notation of the broker conformance vectors (their README, "The payload notation"):
 * hex bytes, `iN` u8, `HN`/`kN`/`mN`/`sN` u16 BE, `LN` u32 BE, `rN`/`vN` variable byte integer
 * [MQTT-1.5.5 / MQTT 5 §1.5.5], `'text'` UTF-8.
 */

export class NotationError extends Error {
  override readonly name = "NotationError";
}

/** MQTT variable byte integer. Values above the 4-byte maximum still encode (5 bytes): vectors use them to test refusal. */
export function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

function uint(n: number, bytes: number, token: string): number[] {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** (8 * bytes)) throw new NotationError(`${token}: out of range for ${bytes} byte(s)`);
  const out: number[] = [];
  for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return out;
}

export function parsePayload(text: string): Buffer {
  const out: number[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === " " || ch === "\t") {
      i++;
      continue;
    }
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new NotationError(`unterminated string at ${i}`);
      out.push(...Buffer.from(text.slice(i + 1, end), "utf8"));
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < text.length && text[end] !== " " && text[end] !== "'") end++;
    const token = text.slice(i, end);
    i = end;
    if (/^([0-9A-Fa-f]{2})+$/.test(token)) {
      out.push(...Buffer.from(token, "hex"));
      continue;
    }
    const m = /^([iHkmsLrv])(\d+)$/.exec(token);
    if (!m) throw new NotationError(`unknown token ${JSON.stringify(token)}`);
    const n = Number(m[2]);
    switch (m[1]) {
      case "i":
        out.push(...uint(n, 1, token));
        break;
      case "L":
        out.push(...uint(n, 4, token));
        break;
      case "r":
      case "v":
        out.push(...varint(n));
        break;
      default:
        out.push(...uint(n, 2, token));
    }
  }
  return Buffer.from(out);
}
