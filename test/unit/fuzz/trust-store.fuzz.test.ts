/**
 * Fuzzing parseTrustStore, the reader of the trust-store file the processor (re)loads while it
 * runs: any text either becomes a trust store whose snapshot has real times and 32-byte keys, or
 * is refused with its documented KeyFileError, never with a TypeError or RangeError (the watcher
 * keeps the last good store only on the errors it expects). A store it accepts never makes
 * validation throw.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseTrustStore, toTrustSnapshot } from '../../../src/core/crypto/index.ts';
import { KeyFileError } from '../../../src/core/errors/index.ts';
import { validateMessage } from '../../../src/processors/telemetry/validate.ts';
import { bases, context, fuzzParams, fuzzTimeoutMs, hostileString, trustStore } from './arbitraries.ts';
import { checkResult } from './checks.ts';

vi.setConfig({ testTimeout: fuzzTimeoutMs });

const validText = JSON.stringify(trustStore, null, 2);

/** Values to put anywhere in the document. */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  hostileString,
  fc.constantFrom(
    '2026-02-31T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '+275760-09-13T00:00:00.000Z',
    '2026-11-29T10:00:00+14:00',
    '2026-11-29T10:00:60Z',
    'AAAA',
    Buffer.alloc(32, 1).toString('base64'),
    Buffer.alloc(32, 1).toString('base64url'),
    `${Buffer.alloc(32, 1).toString('base64')}====`,
    'constructor',
    'hasOwnProperty',
    '__proto__',
    1e308,
    -0,
    // As `__proto__`: a parser that copied it would hand these to the snapshot as inherited values.
    { revokedAt: 'not a date', notAfter: 'garbage', notBefore: '2026-11-29T10:00:00Z' },
  ),
);

const fieldNames = [
  'format',
  'keys',
  'keyId',
  'publicKey',
  'devices',
  'notBefore',
  'notAfter',
  'revokedAt',
  'revocationReason',
  '__proto__',
  'constructor',
] as const;

/** A change to the valid document: a value replaced or removed, at the top level or in a key. */
const documentChange = fc.record({
  key: fc.nat(),
  field: fc.constantFrom(...fieldNames),
  value: fc.option(jsonish, { nil: undefined }),
  where: fc.constantFrom('entry', 'entry', 'top', 'device'),
});
type DocumentChange = typeof documentChange extends fc.Arbitrary<infer C> ? C : never;

/** Applies changes to the JSON text: `__proto__` as an own key, as JSON.parse would read it. */
function changed(changes: DocumentChange[]): string {
  const doc = JSON.parse(validText) as { keys: Record<string, unknown>[] } & Record<string, unknown>;
  for (const c of changes) {
    const entries = Array.isArray(doc.keys) ? doc.keys : [];
    const entry = entries[c.key % Math.max(1, entries.length)];
    if (c.where === 'device' && typeof entry === 'object' && entry !== null && Array.isArray(entry.devices)) {
      entry.devices[c.key % (entry.devices.length + 1)] = c.value;
      continue;
    }
    const isObject = typeof entry === 'object' && entry !== null && !Array.isArray(entry);
    const target: Record<string, unknown> = c.where === 'top' || !isObject ? doc : entry;
    if (c.value === undefined) delete target[c.field];
    else
      Object.defineProperty(target, c.field, {
        value: c.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return JSON.stringify(doc);
}

const texts: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.json({ maxDepth: 3 }),
  fc.array(documentChange, { minLength: 1, maxLength: 4 }).map(changed),
  // The valid document with an entry repeated, cut short or with a character changed.
  fc.nat().map((n) => {
    const doc = JSON.parse(validText);
    doc.keys.push(doc.keys[n % doc.keys.length]);
    return JSON.stringify(doc);
  }),
  fc.nat().map((n) => validText.slice(0, n % validText.length)),
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(([n, ch]) => {
    const at = n % validText.length;
    return `${validText.slice(0, at)}${ch}${validText.slice(at + 1)}`;
  }),
);

describe('parseTrustStore on generated malformed input', () => {
  it('returns a trust store with real times and 32-byte keys, or throws KeyFileError only', () => {
    const messages = bases.map((b) => b.value);
    fc.assert(
      fc.property(texts, (text) => {
        let document: ReturnType<typeof parseTrustStore>;
        try {
          document = parseTrustStore(text, 'fuzz.json');
        } catch (err) {
          expect(err, String(err)).toBeInstanceOf(KeyFileError);
          return;
        }
        const snapshot = toTrustSnapshot(document, 'fuzz');
        for (const key of Object.values(snapshot.keys)) {
          expect(key.publicKey.length).toBe(32);
          expect(key.devices.length).toBeGreaterThan(0);
          expect(key.devices.every((d) => typeof d === 'string' && d !== '')).toBe(true);
          for (const t of [key.notBeforeMs, key.notAfterMs ?? 0, key.revokedAtMs ?? 0]) {
            expect(Number.isFinite(t), JSON.stringify(document)).toBe(true);
          }
        }
        // Validation against the store it read never throws and never needs its last-resort catch.
        const ctx = context({ trust: snapshot });
        for (const value of messages) checkResult(validateMessage(value, ctx));
      }),
      fuzzParams(1500),
    );
  });
});
