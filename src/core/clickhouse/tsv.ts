/**
 * TabSeparated escaping for binary String columns. JSONEachRow cannot carry arbitrary bytes
 * (ClickHouse reads JSON strings as UTF-8 text, so a byte >= 0x80 would come back re-encoded) and
 * 18.16 has no base64Decode; TabSeparated with these escapes stores every byte exactly.
 */

const BACKSLASH = 0x5c;
const escapes: Record<number, number> = { 0: 0x30, 9: 0x74, 10: 0x6e, 13: 0x72, 92: 0x5c };
/** The escape letter of each byte value; 0 for bytes written as they are. */
const escapeOf = new Uint8Array(256);
for (const [byte, letter] of Object.entries(escapes)) escapeOf[Number(byte)] = letter;

/** Escapes bytes as one TabSeparated String field: `\0 \t \n \r \\` escaped, all else verbatim. */
export function escapeTsvBytes(bytes: Uint8Array): Buffer {
  // Indexed loops over a lookup table: about 3x faster than for...of with an object lookup, and
  // this runs over every archived byte.
  const n = bytes.length;
  let extra = 0;
  for (let j = 0; j < n; j++) extra += escapeOf[bytes[j] as number] === 0 ? 0 : 1;
  const out = Buffer.allocUnsafe(n + extra);
  if (extra === 0) {
    out.set(bytes);
    return out;
  }
  let i = 0;
  for (let j = 0; j < n; j++) {
    const b = bytes[j] as number;
    const e = escapeOf[b] as number;
    if (e === 0) out[i++] = b;
    else {
      out[i++] = BACKSLASH;
      out[i++] = e;
    }
  }
  return out;
}

/** Escapes a text field (UTF-8) for TabSeparated. */
export function escapeTsvText(text: string): Buffer {
  return escapeTsvBytes(Buffer.from(text, 'utf8'));
}
