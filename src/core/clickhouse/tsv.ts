/**
 * TabSeparated escaping for binary String columns. JSONEachRow cannot carry arbitrary bytes
 * (ClickHouse reads JSON strings as UTF-8 text, so a byte >= 0x80 would come back re-encoded) and
 * 18.16 has no base64Decode; TabSeparated with these escapes stores every byte exactly.
 */

const BACKSLASH = 0x5c;
const escapes: Record<number, number> = { 0: 0x30, 9: 0x74, 10: 0x6e, 13: 0x72, 92: 0x5c };

/** Escapes bytes as one TabSeparated String field: `\0 \t \n \r \\` escaped, all else verbatim. */
export function escapeTsvBytes(bytes: Uint8Array): Buffer {
  let extra = 0;
  for (const b of bytes) if (escapes[b] !== undefined) extra++;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let i = 0;
  for (const b of bytes) {
    const e = escapes[b];
    if (e === undefined) out[i++] = b;
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
