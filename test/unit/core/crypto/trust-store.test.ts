import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import {
  addTrustedKey,
  emptyTrustSnapshot,
  generateSigningKey,
  readTrustStore,
  retireTrustedKey,
  revokeTrustedKey,
  TRUST_STORE_FORMAT,
  type TrustStoreEntry,
  toTrustSnapshot,
  trustedKey,
  trustStoreHash,
} from '../../../../src/core/crypto/index.ts';

const dirs: string[] = [];
function storeFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-trust-'));
  dirs.push(dir);
  return path.join(dir, 'trust-store.json');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const entry = (keyId: string, seed: number, extra: Partial<TrustStoreEntry> = {}): TrustStoreEntry => {
  const key = generateSigningKey({ keyId, devices: ['router-1'], secretKey: new Uint8Array(32).fill(seed) });
  return {
    keyId,
    publicKey: Buffer.from(key.publicKey).toString('base64'),
    devices: ['router-1'],
    notBefore: '2026-11-29T10:00:00.000Z',
    ...extra,
  };
};

describe('trust store: validity and revocation', () => {
  it('reads files written before validity and revocation existed', () => {
    const file = storeFile();
    const old = entry('edge-1', 1);
    writeFileSync(file, JSON.stringify({ format: TRUST_STORE_FORMAT, keys: [old] }));
    expect(readTrustStore(file).keys).toEqual([old]);
  });

  it('refuses notAfter not later than notBefore, and dates that are not ISO 8601', () => {
    const file = storeFile();
    expect(() => addTrustedKey(file, entry('a', 1, { notAfter: '2026-11-29T10:00:00.000Z' }))).toThrow(
      /invalid at notAfter: notAfter must be later than notBefore/,
    );
    writeFileSync(
      file,
      JSON.stringify({ format: TRUST_STORE_FORMAT, keys: [{ ...entry('a', 1), revokedAt: 'yesterday' }] }),
    );
    expect(() => readTrustStore(file)).toThrow(/invalid at keys.0.revokedAt/);
  });

  it('refuses a public key already trusted under another id, and never trusts a revoked key again', () => {
    const file = storeFile();
    expect(addTrustedKey(file, entry('a', 1))).toBe('added');
    expect(() => addTrustedKey(file, { ...entry('b', 1) })).toThrow(/already holds this public key as key a/);
    expect(revokeTrustedKey(file, { keyId: 'a', at: '2026-12-01T00:00:00Z', reason: 'stolen' })).toBe(
      'revoked',
    );
    expect(() => addTrustedKey(file, entry('a', 1))).toThrow(/was revoked at 2026-12-01T00:00:00.000Z/);
    expect(() => addTrustedKey(file, entry('a', 1), { replace: true })).toThrow(/cannot be trusted again/);
    // A new key under the old id (generate --force) starts without the old key's revocation.
    expect(addTrustedKey(file, entry('a', 2), { replace: true })).toBe('replaced');
    expect(readTrustStore(file).keys[0]).not.toHaveProperty('revokedAt');
  });

  it('needs --force (replace) to change the devices or validity of a trusted key', () => {
    const file = storeFile();
    addTrustedKey(file, entry('a', 1));
    const wider = { ...entry('a', 1), devices: ['router-1', 'router-2'] };
    expect(() => addTrustedKey(file, wider)).toThrow(/with other devices or validity; use --force/);
    expect(addTrustedKey(file, wider, { replace: true })).toBe('replaced');
    expect(addTrustedKey(file, { ...wider, devices: ['router-2', 'router-1'] })).toBe('unchanged');
  });

  it('revokes a key, moves a revocation only earlier, and refuses unknown keys', () => {
    const file = storeFile();
    addTrustedKey(file, entry('a', 1));
    expect(() => revokeTrustedKey(file, { keyId: 'nope' })).toThrow(/has no key nope/);
    expect(() => revokeTrustedKey(file, { keyId: 'a', at: 'soon' })).toThrow(/not an ISO 8601 date/);
    expect(revokeTrustedKey(file, { keyId: 'a', at: '2026-12-02T00:00:00Z', reason: 'first' })).toBe(
      'revoked',
    );
    expect(revokeTrustedKey(file, { keyId: 'a', at: '2026-12-03T00:00:00Z', reason: 'later' })).toBe(
      'unchanged',
    );
    expect(revokeTrustedKey(file, { keyId: 'a', at: '2026-12-01T00:00:00Z', reason: 'earlier' })).toBe(
      'revoked',
    );
    expect(readTrustStore(file).keys[0]).toMatchObject({
      revokedAt: '2026-12-01T00:00:00.000Z',
      revocationReason: 'earlier',
    });
    // Atomic writes leave no temporary files behind.
    expect(readdirSync(path.dirname(file))).toEqual(['trust-store.json']);
  });
});

describe('trust store: retirement', () => {
  it('sets notAfter, only ever earlier, never before notBefore', () => {
    const file = storeFile();
    addTrustedKey(file, entry('a', 1));
    expect(() => retireTrustedKey(file, { keyId: 'b' })).toThrow(/has no key b/);
    expect(() => retireTrustedKey(file, { keyId: 'a', at: '2026-11-29T10:00:00Z' })).toThrow(
      /a retirement must be later/,
    );
    expect(retireTrustedKey(file, { keyId: 'a', at: '2026-12-10T00:00:00Z' })).toBe('retired');
    expect(retireTrustedKey(file, { keyId: 'a', at: '2026-12-11T00:00:00Z' })).toBe('unchanged');
    expect(retireTrustedKey(file, { keyId: 'a', at: '2026-12-09T00:00:00Z' })).toBe('retired');
    expect(readTrustStore(file).keys[0]?.notAfter).toBe('2026-12-09T00:00:00.000Z');
  });
});

describe('trust store: key admission', () => {
  it('refuses every small-order, mixed-order and non-canonical key of the Ed25519 fixtures', () => {
    const file = storeFile();
    const keys = new Map<string, string>();
    for (const name of ['edge-cases', 'speccheck']) {
      const fixture = JSON.parse(readFileSync(`${repoRoot}/test/fixtures/ed25519/${name}.json`, 'utf8')) as {
        cases: { publicKey: string; properties: { keyOrder: string; keyCanonical: boolean } }[];
      };
      for (const c of fixture.cases) {
        const expected = !c.properties.keyCanonical
          ? 'non_canonical'
          : c.properties.keyOrder === 'small'
            ? 'small_order'
            : c.properties.keyOrder === 'mixed'
              ? 'mixed_order'
              : undefined;
        if (expected !== undefined) keys.set(c.publicKey, expected);
      }
    }
    expect(new Set(keys.values())).toEqual(new Set(['non_canonical', 'small_order', 'mixed_order']));
    for (const [hex, problem] of keys) {
      const publicKey = Buffer.from(hex, 'hex').toString('base64');
      expect(() => addTrustedKey(file, { ...entry('x', 1), publicKey }), hex).toThrow(
        `refused: ${problem} (`,
      );
    }
    expect(readTrustStore(file).keys).toEqual([]);
  });
});

describe('trust snapshot', () => {
  it('is plain data that survives a structured clone (a post to a worker thread)', () => {
    const a = entry('a', 1, { notAfter: '2027-01-01T00:00:00.000Z' });
    const b = entry('b', 2, { revokedAt: '2026-12-01T00:00:00.000Z', revocationReason: 'stolen' });
    const text = JSON.stringify({ format: TRUST_STORE_FORMAT, keys: [a, b] });
    const snapshot = toTrustSnapshot(JSON.parse(text), trustStoreHash(text));
    expect(snapshot.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(snapshot.keys.a).toEqual({
      publicKey: new Uint8Array(Buffer.from(a.publicKey, 'base64')),
      devices: ['router-1'],
      notBeforeMs: Date.parse('2026-11-29T10:00:00Z'),
      notAfterMs: Date.parse('2027-01-01T00:00:00Z'),
    });
    expect(snapshot.keys.b).toMatchObject({
      revokedAtMs: Date.parse('2026-12-01T00:00:00Z'),
      revocationReason: 'stolen',
    });
    expect(structuredClone(snapshot)).toEqual(snapshot);
  });

  it('looks up own keys only', () => {
    const snapshot = toTrustSnapshot({ format: TRUST_STORE_FORMAT, keys: [entry('a', 1)] });
    expect(trustedKey(snapshot, 'a')).toBeDefined();
    for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'b']) {
      expect(trustedKey(snapshot, id), id).toBeUndefined();
      expect(trustedKey(structuredClone(snapshot), id), id).toBeUndefined();
    }
    expect(trustedKey(emptyTrustSnapshot(), 'a')).toBeUndefined();
  });

  it('keeps fields it does not know when rewriting', () => {
    const file = storeFile();
    writeFileSync(
      file,
      JSON.stringify({
        format: TRUST_STORE_FORMAT,
        note: 'ops',
        keys: [{ ...entry('a', 1), owner: 'team-x' }],
      }),
    );
    revokeTrustedKey(file, { keyId: 'a', at: '2026-12-01T00:00:00Z' });
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    expect(raw.note).toBe('ops');
    expect(raw.keys[0].owner).toBe('team-x');
  });
});
