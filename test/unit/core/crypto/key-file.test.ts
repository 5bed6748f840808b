import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addTrustedKey,
  createNodeVerifier,
  generateSigningKey,
  readKeyFile,
  readTrustStore,
  signerFor,
  TRUST_STORE_FORMAT,
  toKeyFileDocument,
  writeKeyFile,
} from '../../../../src/core/crypto/index.ts';
import { KeyFileError } from '../../../../src/core/errors/index.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-keys-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const fixedSecret = new Uint8Array(32).fill(7);

describe('signing keys', () => {
  it('generates distinct random keys that sign and verify', () => {
    const a = generateSigningKey({ keyId: 'edge-1', devices: ['router-1'] });
    const b = generateSigningKey({ keyId: 'edge-2', devices: ['router-1'] });
    expect(Buffer.from(a.secretKey).equals(Buffer.from(b.secretKey))).toBe(false);
    const message = new TextEncoder().encode('poll');
    const signature = signerFor(a).sign(message);
    expect(createNodeVerifier().verify(a.publicKey, message, signature)).toBe(true);
    expect(createNodeVerifier().verify(b.publicKey, message, signature)).toBe(false);
    // Ed25519 is deterministic: node and noble sign identically.
    expect(Buffer.from(signerFor(a, 'noble').sign(message)).equals(Buffer.from(signature))).toBe(true);
  });

  it('refuses key ids that could escape the keys folder or break envelopes, and empty device lists', () => {
    for (const keyId of ['', '../evil', 'a/b', 'has space', '.hidden', 'x'.repeat(129)]) {
      expect(() => generateSigningKey({ keyId, devices: ['d'] }), keyId).toThrow(KeyFileError);
    }
    expect(() => generateSigningKey({ keyId: 'k', devices: [] })).toThrow(KeyFileError);
    expect(() => generateSigningKey({ keyId: 'k', devices: [''] })).toThrow(KeyFileError);
  });
});

describe('key files', () => {
  it('round-trips through a file with mode 0600 in a 0700 folder', () => {
    const dir = path.join(tempDir(), 'keys');
    const file = path.join(dir, 'edge-1.json');
    const key = generateSigningKey({
      keyId: 'edge-1',
      devices: ['router-1', 'router-2', 'router-1'],
      now: new Date('2026-11-29T10:00:00Z'),
      secretKey: fixedSecret,
    });
    writeKeyFile(file, key);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const { key: read, warnings } = readKeyFile(file);
    expect(warnings).toEqual([]);
    expect(read).toEqual({ ...key, devices: ['router-1', 'router-2'] });
    const document = JSON.parse(readFileSync(file, 'utf8'));
    expect(document).toEqual(toKeyFileDocument(key));
    expect(document.format).toBe('amoskys.ed25519-key.v1');
    expect(document.createdAt).toBe('2026-11-29T10:00:00.000Z');
  });

  it('refuses to replace an existing file unless forced, and never leaves temporary files', () => {
    const dir = tempDir();
    const file = path.join(dir, 'k.json');
    const first = generateSigningKey({ keyId: 'k', devices: ['d'] });
    const second = generateSigningKey({ keyId: 'k', devices: ['d'] });
    writeKeyFile(file, first);
    expect(() => writeKeyFile(file, second)).toThrow(/already exists/);
    expect(readKeyFile(file).key.publicKey).toEqual(first.publicKey);
    writeKeyFile(file, second, { force: true });
    expect(readKeyFile(file).key.publicKey).toEqual(second.publicKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['k.json']);
  });

  it('warns about a key file readable by others, without refusing it', () => {
    const file = path.join(tempDir(), 'k.json');
    writeKeyFile(file, generateSigningKey({ keyId: 'k', devices: ['d'] }));
    chmodSync(file, 0o644);
    const { warnings } = readKeyFile(file);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/mode 0644.*chmod 600/);
  });

  it('refuses missing, non-JSON, invalid and mismatched files with the file named', () => {
    const dir = tempDir();
    const file = path.join(dir, 'k.json');
    expect(() => readKeyFile(file)).toThrow(/cannot read key file .*k\.json/);
    writeFileSync(file, 'not json');
    expect(() => readKeyFile(file)).toThrow(/is not JSON/);
    const document = toKeyFileDocument(generateSigningKey({ keyId: 'k', devices: ['d'] }));
    writeFileSync(file, JSON.stringify({ ...document, devices: [] }));
    expect(() => readKeyFile(file)).toThrow(/invalid at devices/);
    writeFileSync(file, JSON.stringify({ ...document, privateKey: 'AAAA' }));
    expect(() => readKeyFile(file)).toThrow(/invalid at privateKey/);
    const other = toKeyFileDocument(generateSigningKey({ keyId: 'k', devices: ['d'] }));
    writeFileSync(file, JSON.stringify({ ...document, publicKey: other.publicKey }));
    expect(() => readKeyFile(file)).toThrow(/publicKey does not belong to privateKey/);
  });
});

describe('trust store', () => {
  const entry = (keyId: string, seed: number, devices = ['router-1']) => {
    const key = generateSigningKey({ keyId, devices, secretKey: new Uint8Array(32).fill(seed) });
    return {
      keyId,
      publicKey: Buffer.from(key.publicKey).toString('base64'),
      devices,
      notBefore: '2026-11-29T10:00:00.000Z',
    };
  };

  it('starts empty, adds, reports unchanged, and refuses a different key under the same id unless replacing', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    expect(readTrustStore(file)).toEqual({ format: TRUST_STORE_FORMAT, keys: [] });
    expect(addTrustedKey(file, entry('a', 1))).toBe('added');
    expect(addTrustedKey(file, entry('b', 2))).toBe('added');
    expect(addTrustedKey(file, entry('a', 1))).toBe('unchanged');
    expect(() => addTrustedKey(file, entry('a', 3))).toThrow(/already has a different key a/);
    expect(addTrustedKey(file, entry('a', 3), { replace: true })).toBe('replaced');
    const store = readTrustStore(file);
    expect(store.keys.map((k) => k.keyId)).toEqual(['a', 'b']);
    expect(store.keys[0]?.publicKey).toBe(entry('a', 3).publicKey);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('keeps fields it does not know (the processor owns the rest of the trust model)', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    const revoked = { ...entry('old', 4), revokedAt: '2026-12-01T00:00:00.000Z' };
    writeFileSync(file, JSON.stringify({ format: TRUST_STORE_FORMAT, keys: [revoked], comment: 'kept' }));
    addTrustedKey(file, entry('new', 5));
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    expect(raw.comment).toBe('kept');
    expect(raw.keys[0]).toEqual(revoked);
  });

  it('refuses small-order and non-canonical public keys', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    expect(() => addTrustedKey(file, { ...entry('x', 1), publicKey: identity.toString('base64') })).toThrow(
      /refused: small_order/,
    );
    const nonCanonical = Buffer.from(
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'hex',
    );
    expect(() =>
      addTrustedKey(file, { ...entry('x', 1), publicKey: nonCanonical.toString('base64') }),
    ).toThrow(/refused: non_canonical/);
    expect(readTrustStore(file).keys).toEqual([]);
  });

  it('refuses a file with duplicate key ids or the wrong format', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeFileSync(file, JSON.stringify({ format: TRUST_STORE_FORMAT, keys: [entry('a', 1), entry('a', 2)] }));
    expect(() => readTrustStore(file)).toThrow(/lists key a twice/);
    writeFileSync(file, JSON.stringify({ format: 'something-else', keys: [] }));
    expect(() => readTrustStore(file)).toThrow(/invalid at format/);
  });
});
