/**
 * Checksums of legacy WAL rows: BLAKE2b against the RFC 7693 vector, Python's hashlib and
 * node:crypto's BLAKE2b-512; which stored forms are read and which algorithms are tried.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blake2b,
  ChecksumAlgorithm,
  storedDigest,
  verifyChecksum,
} from '../../../../src/tools/legacy-wal/index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const abc = new TextEncoder().encode('abc');

describe('blake2b', () => {
  it('matches the RFC 7693 vector and hashlib.blake2b(digest_size=32)', () => {
    // RFC 7693, Appendix A: BLAKE2b-512("abc").
    expect(hex(blake2b(abc, 64))).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
    // python3 -c "import hashlib; print(hashlib.blake2b(b'abc', digest_size=32).hexdigest())"
    expect(hex(blake2b(abc, 32))).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
    // ... and of bytes 0..127 then 128 (one full block, then a second): block boundaries.
    const ramp = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 256);
    expect(hex(blake2b(new Uint8Array(0), 32))).toBe(
      '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
    );
    expect(hex(blake2b(ramp(128), 32))).toBe(
      'c3582f71ebb2be66fa5dd750f80baae97554f3b015663c8be377cfcb2488c1d1',
    );
    expect(hex(blake2b(ramp(129), 32))).toBe(
      'f7f3c46ba2564ff4c4c162da1f5b605f9f1c4aa6a20652a9f9a337c1a2f5b9c9',
    );
  });

  it('agrees with node:crypto blake2b512 on any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (data) => {
        expect(hex(blake2b(data, 64))).toBe(createHash('blake2b512').update(data).digest('hex'));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses digest lengths BLAKE2b does not have', () => {
    expect(() => blake2b(abc, 0)).toThrow(RangeError);
    expect(() => blake2b(abc, 65)).toThrow(RangeError);
  });
});

describe('verifyChecksum', () => {
  const data = Uint8Array.from([1, 2, 3, 4, 5]);
  const sha256 = createHash('sha256').update(data).digest();

  it('accepts SHA-256 and BLAKE2b-256 as raw bytes or hex, and says which matched', () => {
    expect(verifyChecksum(data, sha256)).toEqual({ ok: true, algorithm: ChecksumAlgorithm.Sha256 });
    expect(verifyChecksum(data, sha256.toString('hex'))).toEqual({ ok: true, algorithm: 'sha256' });
    expect(verifyChecksum(data, sha256.toString('hex').toUpperCase())).toMatchObject({ ok: true });
    expect(verifyChecksum(data, `sha256:${sha256.toString('hex')}`)).toMatchObject({ ok: true });
    expect(verifyChecksum(data, Buffer.from(sha256.toString('hex')))).toMatchObject({ ok: true });
    expect(verifyChecksum(data, blake2b(data, 32))).toEqual({ ok: true, algorithm: 'blake2b-256' });
    expect(verifyChecksum(data, createHash('sha512').update(data).digest())).toEqual({
      ok: true,
      algorithm: 'sha512',
    });
    expect(verifyChecksum(data, blake2b(data, 64))).toEqual({ ok: true, algorithm: 'blake2b-512' });
  });

  it('tries only the algorithm given', () => {
    expect(verifyChecksum(data, sha256, 'sha256')).toMatchObject({ ok: true });
    expect(verifyChecksum(data, sha256, 'blake2b-256')).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('says why a checksum does not verify', () => {
    const changed = Uint8Array.from([1, 2, 3, 4, 6]);
    expect(verifyChecksum(changed, sha256)).toMatchObject({
      ok: false,
      reason: 'mismatch',
      detail: expect.stringContaining('tried sha256, blake2b-256'),
    });
    expect(verifyChecksum(data, null)).toMatchObject({ ok: false, reason: 'missing' });
    expect(verifyChecksum(data, 'abc')).toMatchObject({ ok: false, reason: 'unrecognised' });
    expect(verifyChecksum(data, new Uint8Array(20))).toMatchObject({ ok: false, reason: 'unrecognised' });
    expect(storedDigest(12)).toBeUndefined();
  });
});
