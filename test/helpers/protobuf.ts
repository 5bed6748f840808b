/**
 * Hand-written protobuf wire bytes, for tests that need messages no encoder would produce
 * (malformed, duplicated, unknown or out-of-contract fields). Independent of protobufjs on purpose.
 */

/** Unsigned varint bytes of a non-negative integer. */
export function varint(value: number | bigint): number[] {
  let n = BigInt(value);
  if (n < 0n) throw new RangeError('varint of a negative number');
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

/** Tag bytes: (field << 3) | wire type. */
export const tag = (field: number, wireType: number): number[] => varint(field * 8 + wireType);

/** A varint field (wire type 0). */
export const varintField = (field: number, value: number | bigint): number[] => [
  ...tag(field, 0),
  ...varint(value),
];

/** A length-delimited field (wire type 2). */
export const bytesField = (field: number, bytes: ArrayLike<number>): number[] => [
  ...tag(field, 2),
  ...varint(bytes.length),
  ...Array.from(bytes),
];

/** A string field (wire type 2, UTF-8). */
export const stringField = (field: number, value: string): number[] =>
  bytesField(field, new TextEncoder().encode(value));

/** Concatenates byte lists into a Uint8Array. */
export const message = (...parts: ArrayLike<number>[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => Array.from(p)));
