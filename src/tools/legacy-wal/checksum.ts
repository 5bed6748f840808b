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
 * truncation, so BLAKE2b-256 comes from @noble/hashes.
 */
import { createHash } from 'node:crypto';
import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js';

/** Checksum algorithms a WAL row may use. */
export const ChecksumAlgorithm = {
  Sha256: 'sha256',
  Blake2b256: 'blake2b-256',
  Sha512: 'sha512',
  Blake2b512: 'blake2b-512',
} as const;
export type ChecksumAlgorithm = (typeof ChecksumAlgorithm)[keyof typeof ChecksumAlgorithm];

/**
 * Unkeyed BLAKE2b (RFC 7693) of `data`, from @noble/hashes (audited, no dependencies).
 * @param outputBytes digest length, 1..64
 */
export function blake2b(data: Uint8Array, outputBytes: number): Uint8Array {
  if (!Number.isInteger(outputBytes) || outputBytes < 1 || outputBytes > 64) {
    throw new RangeError(`BLAKE2b digest length must be 1..64 bytes, got ${outputBytes}`);
  }
  return nobleBlake2b(data, { dkLen: outputBytes });
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
