/**
 * Checksums of legacy WAL rows: which algorithm wrote them, and whether a row's envelope bytes
 * still match. Pure.
 *
 * Accepted: SHA-256 and BLAKE2b-256 (32 bytes), SHA-512 and BLAKE2b-512 (64 bytes), stored as raw
 * bytes (BLOB) or as hex text (TEXT, or a BLOB holding the hex characters). The earlier system's
 * WAL writer stored `blake2b(envelope, digest_size=32)` as a 32-byte BLOB; SHA-256 hex is what
 * other exports of it hold. Both are 32 bytes, so `auto` tries each algorithm of the stored
 * length and reports the one that matched.
 *
 * node:crypto offers BLAKE2b only with a 64-byte digest (`blake2b512`); BLAKE2b with another
 * digest length is a different function (the length is part of the parameter block), not a
 * truncation, hence the implementation below (RFC 7693, unkeyed).
 */
import { createHash } from 'node:crypto';

/** Checksum algorithms a WAL row may use. */
export const ChecksumAlgorithm = {
  Sha256: 'sha256',
  Blake2b256: 'blake2b-256',
  Sha512: 'sha512',
  Blake2b512: 'blake2b-512',
} as const;
export type ChecksumAlgorithm = (typeof ChecksumAlgorithm)[keyof typeof ChecksumAlgorithm];

// BLAKE2b initialisation vector (the SHA-512 IV) and message schedule, RFC 7693 section 2.
const IV = [
  0x6a09e667f3bcc908n,
  0xbb67ae8584caa73bn,
  0x3c6ef372fe94f82bn,
  0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n,
  0x9b05688c2b3e6c1fn,
  0x1f83d9abfb41bd6bn,
  0x5be0cd19137e2179n,
];
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/** IV as uint32 halves (lo, hi), converted once. */
const IV32 = Uint32Array.from(IV.flatMap((w) => [Number(w & 0xffff_ffffn), Number(w >> 32n)]));

// 64-bit words as pairs of uint32 halves in one Uint32Array (lo at 2i, hi at 2i+1): BigInt
// arithmetic would be ~50x slower, and a WAL holds millions of rows.
const v = new Uint32Array(32);
const m = new Uint32Array(32);

function add64(a: number, b: number): void {
  const lo = v[a] as number;
  const sumLo = lo + (v[b] as number);
  v[a] = sumLo;
  v[a + 1] = (v[a + 1] as number) + (v[b + 1] as number) + (sumLo >= 0x1_0000_0000 ? 1 : 0);
}

function add64m(a: number, i: number): void {
  const sumLo = (v[a] as number) + (m[i] as number);
  v[a] = sumLo;
  v[a + 1] = (v[a + 1] as number) + (m[i + 1] as number) + (sumLo >= 0x1_0000_0000 ? 1 : 0);
}

function xorRotr(a: number, b: number, n: number): void {
  const lo = (v[a] as number) ^ (v[b] as number);
  const hi = (v[a + 1] as number) ^ (v[b + 1] as number);
  if (n === 32) {
    v[a] = hi;
    v[a + 1] = lo;
  } else if (n < 32) {
    v[a] = (lo >>> n) | (hi << (32 - n));
    v[a + 1] = (hi >>> n) | (lo << (32 - n));
  } else {
    const k = n - 32;
    v[a] = (hi >>> k) | (lo << (32 - k));
    v[a + 1] = (lo >>> k) | (hi << (32 - k));
  }
}

function mix(a: number, b: number, c: number, d: number, x: number, y: number): void {
  add64(a, b);
  add64m(a, x);
  xorRotr(d, a, 32);
  add64(c, d);
  xorRotr(b, c, 24);
  add64(a, b);
  add64m(a, y);
  xorRotr(d, a, 16);
  add64(c, d);
  xorRotr(b, c, 63);
}

function compress(h: Uint32Array, block: Uint8Array, counter: number, last: boolean): void {
  for (let i = 0; i < 16; i++) {
    v[i] = h[i] as number;
    v[16 + i] = IV32[i] as number;
  }
  // The counter is at most 2^53 here, so its high word is small.
  v[24] = (v[24] as number) ^ (counter >>> 0);
  v[25] = (v[25] as number) ^ Math.floor(counter / 0x1_0000_0000);
  if (last) {
    v[28] = ~(v[28] as number);
    v[29] = ~(v[29] as number);
  }
  for (let i = 0; i < 32; i++) {
    const j = i * 4;
    m[i] =
      ((block[j] as number) |
        ((block[j + 1] as number) << 8) |
        ((block[j + 2] as number) << 16) |
        ((block[j + 3] as number) << 24)) >>>
      0;
  }
  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10] as number[];
    const at = (k: number) => 2 * (s[k] as number);
    mix(0, 8, 16, 24, at(0), at(1));
    mix(2, 10, 18, 26, at(2), at(3));
    mix(4, 12, 20, 28, at(4), at(5));
    mix(6, 14, 22, 30, at(6), at(7));
    mix(0, 10, 20, 30, at(8), at(9));
    mix(2, 12, 22, 24, at(10), at(11));
    mix(4, 14, 16, 26, at(12), at(13));
    mix(6, 8, 18, 28, at(14), at(15));
  }
  for (let i = 0; i < 16; i++) h[i] = ((h[i] as number) ^ (v[i] as number) ^ (v[i + 16] as number)) >>> 0;
}

/**
 * Unkeyed BLAKE2b (RFC 7693) of `data`.
 * @param outputBytes digest length, 1..64
 */
export function blake2b(data: Uint8Array, outputBytes: number): Uint8Array {
  if (!Number.isInteger(outputBytes) || outputBytes < 1 || outputBytes > 64) {
    throw new RangeError(`BLAKE2b digest length must be 1..64 bytes, got ${outputBytes}`);
  }
  const h = Uint32Array.from(IV32);
  // Parameter block word 0: digest length, key length 0, fanout 1, depth 1.
  h[0] = ((h[0] as number) ^ (0x0101_0000 | outputBytes)) >>> 0;
  const block = new Uint8Array(128);
  let offset = 0;
  // Every block but the last is compressed as not-final; the last (possibly empty) one is padded.
  while (data.length - offset > 128) {
    compress(h, data.subarray(offset, offset + 128), offset + 128, false);
    offset += 128;
  }
  block.fill(0);
  block.set(data.subarray(offset));
  compress(h, block, data.length, true);
  const out = new Uint8Array(outputBytes);
  for (let i = 0; i < outputBytes; i++) out[i] = ((h[i >> 2] as number) >>> (8 * (i & 3))) & 0xff;
  return out;
}

/** The digest of `data` with one algorithm. */
export function digest(algorithm: ChecksumAlgorithm, data: Uint8Array): Uint8Array {
  switch (algorithm) {
    case ChecksumAlgorithm.Sha256:
      return createHash('sha256').update(data).digest();
    case ChecksumAlgorithm.Sha512:
      return createHash('sha512').update(data).digest();
    case ChecksumAlgorithm.Blake2b256:
      return blake2b(data, 32);
    case ChecksumAlgorithm.Blake2b512:
      return createHash('blake2b512').update(data).digest();
    default:
      throw new RangeError(`unknown checksum algorithm ${String(algorithm)}`);
  }
}

const byLength: Record<number, ChecksumAlgorithm[]> = {
  32: [ChecksumAlgorithm.Sha256, ChecksumAlgorithm.Blake2b256],
  64: [ChecksumAlgorithm.Sha512, ChecksumAlgorithm.Blake2b512],
};

const hexText = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * The digest bytes a checksum cell holds: a BLOB of 32 or 64 bytes as is; hex text (TEXT, or a
 * BLOB of hex characters, optionally prefixed `sha256:` or similar) decoded. Undefined when the
 * cell holds neither.
 */
export function storedDigest(cell: unknown): Uint8Array | undefined {
  let text: string | undefined;
  if (cell instanceof Uint8Array) {
    text = Buffer.from(cell).toString('latin1');
    // 64 hex characters in a BLOB are hex text, not a raw 64-byte digest: a real digest is all
    // hex characters with a probability of about (22/256)^64.
    const isHex = hexText.test(text);
    if ((cell.length === 32 || cell.length === 64) && !isHex) return cell;
  } else if (typeof cell === 'string') {
    text = cell;
  }
  if (text === undefined) return undefined;
  const hex = text.trim().replace(/^[a-z0-9-]+:/i, '');
  if (!hexText.test(hex) || (hex.length !== 64 && hex.length !== 128)) return undefined;
  return Buffer.from(hex, 'hex');
}

/** Result of {@link verifyChecksum}. */
export type ChecksumResult =
  | { ok: true; algorithm: ChecksumAlgorithm }
  | { ok: false; reason: 'missing' | 'unrecognised' | 'mismatch'; detail: string };

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Checks envelope bytes against a stored checksum cell.
 * @param algorithm one algorithm, or `auto`: every algorithm of the stored digest's length
 */
export function verifyChecksum(
  bytes: Uint8Array,
  cell: unknown,
  algorithm: ChecksumAlgorithm | 'auto' = 'auto',
): ChecksumResult {
  if (cell === null || cell === undefined)
    return { ok: false, reason: 'missing', detail: 'no checksum stored' };
  const stored = storedDigest(cell);
  if (stored === undefined) {
    const shown =
      cell instanceof Uint8Array ? `${cell.length} bytes` : JSON.stringify(String(cell).slice(0, 40));
    return {
      ok: false,
      reason: 'unrecognised',
      detail: `checksum ${shown} is neither 32/64 raw bytes nor 64/128 hex digits`,
    };
  }
  const candidates = algorithm === 'auto' ? (byLength[stored.length] ?? []) : [algorithm];
  for (const candidate of candidates) {
    if (equal(digest(candidate, bytes), stored)) return { ok: true, algorithm: candidate };
  }
  return {
    ok: false,
    reason: 'mismatch',
    detail: `the envelope bytes do not match the stored ${stored.length}-byte checksum (tried ${candidates.join(', ') || 'nothing'})`,
  };
}
