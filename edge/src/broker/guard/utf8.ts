/**
 * MQTT UTF-8 strings [MQTT-1.5.3]: well-formed UTF-8 without surrogates [MQTT-1.5.3-1] and
 * without U+0000 [MQTT-1.5.3-2]. Control characters U+0001..U+001F and U+007F..U+009F are
 * refused too: the spec says they SHOULD NOT appear and lets the receiver close the connection
 * (§1.5.3), which Mosquitto does; our topic scheme never needs them.
 */
export function isMqttUtf8(b: Uint8Array, start = 0, end = b.length): boolean {
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c < 0x80) {
      if (c < 0x20 || c === 0x7f) return false;
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    let min: number;
    if ((c & 0xe0) === 0xc0) {
      need = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) === 0xe0) {
      need = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) === 0xf0) {
      need = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else return false;
    if (i + need >= end) return false;
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates, beyond U+10FFFF, C1 controls.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f)) return false;
    i += need + 1;
  }
  return true;
}
