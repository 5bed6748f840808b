import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createNobleVerifier,
  generateSigningKey,
  signerFor,
  TRUST_STORE_FORMAT,
  type TrustSnapshot,
  toTrustSnapshot,
} from '../../../../src/core/crypto/index.ts';
import {
  buildSignedEnvelope,
  encodeUnsignedEnvelope,
  signEnvelopeBytes,
} from '../../../../src/core/envelope/index.ts';
import { frame } from '../../../../src/core/registry/index.ts';
import { type DevicePoll, idempotencyKey } from '../../../../src/core/telemetry/index.ts';
import { DlqHeader, RejectReason } from '../../../../src/processors/telemetry/types.ts';
import {
  dlqHeaders,
  MAX_DLQ_MESSAGE_CHARS,
  type ValidateContext,
  validateMessage,
} from '../../../../src/processors/telemetry/validate.ts';
import { buildRejectCorpus, type CorpusOptions } from '../../../fixtures/envelopes/rejects.ts';

const schemaId = 7;
/** 2026-11-29T10:00:00Z */
const nowMs = Date.UTC(2026, 10, 29, 10, 0, 0);
const nowNs = BigInt(nowMs) * 1_000_000n;
const options: CorpusOptions = {
  nowNs,
  schemaId,
  freshnessWindowMs: 3_600_000,
  maxFutureSkewMs: 60_000,
  maxMessageBytes: 65_536,
};
const corpus = buildRejectCorpus(options);
const trust = toTrustSnapshot(corpus.trustStore, 'corpus');

const context = (overrides: Partial<ValidateContext> = {}): ValidateContext => ({
  trust,
  nowNs,
  freshnessWindowMs: options.freshnessWindowMs,
  maxFutureSkewMs: options.maxFutureSkewMs,
  maxMessageBytes: options.maxMessageBytes,
  isKnownSchemaId: (id) => id === schemaId,
  ...overrides,
});

const byName = (name: string) => {
  const message = corpus.messages.find((m) => m.name === name);
  if (message === undefined) throw new Error(`no corpus message ${name}`);
  return message;
};

const allReasons = Object.values(RejectReason);

describe('validateMessage: the reject corpus', () => {
  it('has at least one message per reject reason, and unique idempotency keys', () => {
    const covered = new Set(corpus.messages.map((m) => m.expected));
    for (const reason of allReasons) expect(covered, reason).toContain(reason);
    const keys = corpus.messages.flatMap((m) => (m.idempotencyKey === undefined ? [] : [m.idempotencyKey]));
    expect(new Set(keys).size).toBe(keys.length);
  });

  for (const message of corpus.messages) {
    it(`${message.name} -> ${message.expected}`, () => {
      const result = validateMessage(message.value, context());
      if (message.expected === 'ok') {
        expect(result.ok, result.ok ? '' : `${result.reason}: ${result.detail}`).toBe(true);
      } else {
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect({ reason: result.reason, detail: result.detail }).toEqual({
          reason: message.expected,
          detail: expect.any(String),
        });
        expect(result.detail.length).toBeGreaterThan(0);
        expect(result.detail.length).toBeLessThan(600);
      }
    });
  }

  it('names the device the message claims on trust, signature, freshness and value rejects', () => {
    for (const name of ['revoked-key', 'key-not-bound', 'stale', 'future', 'nan-value', 'counter-bits-16']) {
      const result = validateMessage(byName(name).value, context());
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.deviceId, name).toBe(name === 'key-not-bound' ? 'corpus-router-9' : 'corpus-router-1');
    }
  });
});

describe('validateMessage: an accepted envelope', () => {
  it('returns the poll, its keys and times', () => {
    const message = byName('valid');
    const result = validateMessage(message.value, context());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.idempotencyKey).toBe(message.idempotencyKey);
    expect(result.deviceId).toBe('corpus-router-1');
    expect(result.signingKeyId).toBe('corpus-key-1');
    expect(result.schemaId).toBe(schemaId);
    expect(result.envelopeTsNs).toBe(nowNs - 1_000_000_000n);
    expect(result.slotStartNs).toBe(result.poll.slotStartNs);
    expect(result.metricsCount).toBe(4);
    expect(result.poll.metrics.map((m) => m.name)).toEqual([
      'sys_descr',
      'la_load_1',
      'if_in_octets',
      'if_hc_in_octets',
    ]);
    expect(result.poll.metrics[3]?.value).toEqual({
      kind: 'counter',
      value: 18_446_744_073_709_551_615n,
      bits: 64,
    });
    expect(idempotencyKey(result.poll)).toBe(result.idempotencyKey);
    // What goes to a worker thread and back survives a structured clone.
    expect(structuredClone(result)).toEqual(result);
  });

  it('gives the same answer with the noble verifier on honest envelopes', () => {
    const verifier = createNobleVerifier();
    for (const m of corpus.messages) {
      const node = validateMessage(m.value, context());
      const noble = validateMessage(m.value, context({ verifier }));
      expect(noble.ok ? 'ok' : noble.reason, m.name).toBe(node.ok ? 'ok' : node.reason);
    }
  });

  it('judges oversize before anything else, and on the framed length', () => {
    const valid = byName('valid').value as Uint8Array;
    expect(validateMessage(valid, context({ maxMessageBytes: valid.length })).ok).toBe(true);
    const smaller = validateMessage(valid, context({ maxMessageBytes: valid.length - 1 }));
    expect(smaller).toMatchObject({ ok: false, reason: RejectReason.Oversize });
    // Even bytes that are not a frame at all are oversize first.
    expect(validateMessage(new Uint8Array(100).fill(0xff), context({ maxMessageBytes: 99 }))).toMatchObject({
      reason: RejectReason.Oversize,
    });
  });

  it('refuses an invalid context as a programming error', () => {
    const valid = byName('valid').value;
    expect(() => validateMessage(valid, context({ freshnessWindowMs: Number.NaN }))).toThrow(RangeError);
    expect(() => validateMessage(valid, context({ maxMessageBytes: -1 }))).toThrow(RangeError);
  });
});

describe('validateMessage: trust over time', () => {
  const oldKey = generateSigningKey({
    keyId: 'edge-2026',
    devices: ['router-1'],
    secretKey: new Uint8Array(32).fill(61),
  });
  const newKey = generateSigningKey({
    keyId: 'edge-2027',
    devices: ['router-1'],
    secretKey: new Uint8Array(32).fill(62),
  });
  const b64 = (k: typeof oldKey) => Buffer.from(k.publicKey).toString('base64');
  const T = nowNs - 600_000_000_000n; // revoked 10 minutes ago
  const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
  const dayAgo = iso(nowNs - 86_400_000_000_000n);
  let slot = 100n;
  const poll = (): DevicePoll => {
    const s = slot++;
    return {
      deviceId: 'router-1',
      protocol: 'snmp',
      intervalS: 60,
      slot: s,
      slotStartNs: s * 60_000_000_000n,
      observedAtNs: s * 60_000_000_000n + 1n,
      metrics: [],
      status: {
        state: 'ok',
        reason: '',
        durationMs: 1,
        varbindsRequested: 0,
        varbindsReceived: 0,
        bytesCollected: 0,
      },
    };
  };
  const signedBy = (key: typeof oldKey, tsNs: bigint) =>
    frame(schemaId, [0], buildSignedEnvelope(poll(), signerFor(key), tsNs));
  const snapshot = (extraOld: Record<string, string>): TrustSnapshot =>
    toTrustSnapshot({
      format: TRUST_STORE_FORMAT,
      keys: [
        {
          keyId: oldKey.keyId,
          publicKey: b64(oldKey),
          devices: ['router-1'],
          notBefore: dayAgo,
          ...extraOld,
        },
        { keyId: newKey.keyId, publicKey: b64(newKey), devices: ['router-1'], notBefore: iso(T) },
      ],
    });
  const verdict = (value: Uint8Array, trustSnapshot: TrustSnapshot, now = nowNs) => {
    const r = validateMessage(value, context({ trust: trustSnapshot, nowNs: now }));
    return r.ok ? 'ok' : r.reason;
  };

  it('rotation: after the old key is revoked at T, its envelopes are revoked_key and the new key is accepted', () => {
    const rotated = snapshot({ revokedAt: iso(T) });
    expect(verdict(signedBy(oldKey, T + 1_000_000_000n), rotated)).toBe(RejectReason.RevokedKey);
    expect(verdict(signedBy(newKey, T + 1_000_000_000n), rotated)).toBe('ok');
    // Revocation is judged against processing time too: a compromised key can backdate ts_ns.
    expect(verdict(signedBy(oldKey, T - 1_000_000_000n), rotated)).toBe(RejectReason.RevokedKey);
    // Before the revocation took effect, the old key was fine.
    expect(verdict(signedBy(oldKey, T - 2_000_000_000n), rotated, T - 1_000_000_000n)).toBe('ok');
    // The new key is not valid before its notBefore.
    expect(verdict(signedBy(newKey, T - 1_000_000_000n), rotated)).toBe(RejectReason.UnknownKey);
  });

  it('a revocation scheduled in the future applies to envelopes that claim a later time', () => {
    const scheduled = snapshot({ revokedAt: iso(nowNs + 30_000_000_000n) });
    expect(verdict(signedBy(oldKey, nowNs), scheduled)).toBe('ok');
    expect(verdict(signedBy(oldKey, nowNs + 40_000_000_000n), scheduled)).toBe(RejectReason.RevokedKey);
  });

  it('retirement (notAfter) is judged by envelope time, so signed envelopes drain after it', () => {
    const retired = snapshot({ notAfter: iso(T) });
    expect(verdict(signedBy(oldKey, T - 1_000_000_000n), retired)).toBe('ok');
    expect(verdict(signedBy(oldKey, T), retired)).toBe(RejectReason.UnknownKey);
  });

  it('never resolves key ids through the object prototype', () => {
    for (const keyId of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const p = poll();
      const attacker = generateSigningKey({
        keyId: 'x',
        devices: ['router-1'],
        secretKey: new Uint8Array(32).fill(63),
      });
      const value = frame(
        schemaId,
        [0],
        signEnvelopeBytes(encodeUnsignedEnvelope(p, keyId, nowNs), signerFor(attacker)),
      );
      expect(verdict(value, snapshot({})), keyId).toBe(RejectReason.UnknownKey);
    }
  });

  it('binds keys with long device lists', () => {
    const devices = Array.from({ length: 1000 }, (_, i) => `router-${i}`);
    const fleet = generateSigningKey({ keyId: 'fleet', devices, secretKey: new Uint8Array(32).fill(64) });
    const store = toTrustSnapshot({
      format: TRUST_STORE_FORMAT,
      keys: [{ keyId: 'fleet', publicKey: b64(fleet), devices, notBefore: dayAgo }],
    });
    const p = { ...poll(), deviceId: 'router-999' };
    const ok = frame(schemaId, [0], buildSignedEnvelope(p, signerFor(fleet), nowNs));
    expect(verdict(ok, store)).toBe('ok');
    const q = { ...poll(), deviceId: 'router-1000' };
    const notBound = frame(schemaId, [0], buildSignedEnvelope(q, signerFor(fleet), nowNs));
    expect(verdict(notBound, store)).toBe(RejectReason.KeyNotBound);
  });
});

describe('validateMessage: never throws, never accepts damage', () => {
  const valid = byName('valid').value as Uint8Array;
  const ctx = context();
  const reasonOf = (value: Uint8Array | null) => {
    const r = validateMessage(value, ctx);
    // The last-resort catch in validateMessage must never be what answered.
    if (!r.ok) expect(r.detail).not.toMatch(/^validator error/);
    return r.ok ? 'ok' : r.reason;
  };

  it('gives a reject reason for every single-bit flip of a valid envelope', () => {
    for (let i = 0; i < valid.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Uint8Array.from(valid);
        damaged[i] = (damaged[i] as number) ^ (1 << bit);
        const reason = reasonOf(damaged);
        expect(allReasons, `byte ${i} bit ${bit}`).toContain(reason);
      }
    }
  });

  it('gives a reject reason for every truncation of a valid envelope', () => {
    for (let length = 0; length < valid.length; length++) {
      expect(allReasons, `length ${length}`).toContain(reasonOf(valid.subarray(0, length)));
    }
  });

  it('gives a reject reason for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(allReasons).toContain(reasonOf(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a reject reason for random payloads in a valid frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (payload) => {
        expect(allReasons).toContain(reasonOf(frame(schemaId, [0], payload)));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a reject reason for random splices and byte changes of a valid envelope', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 32 }),
        (changes, at, inserted) => {
          const damaged = Uint8Array.from(valid);
          let changed = false;
          for (const [position, byte] of changes) {
            const i = position % damaged.length;
            if (damaged[i] !== byte) changed = true;
            damaged[i] = byte;
          }
          if (changed) expect(allReasons).toContain(reasonOf(damaged));
          const cut = at % valid.length;
          const spliced = Uint8Array.from([...valid.subarray(0, cut), ...inserted, ...valid.subarray(cut)]);
          const reason = reasonOf(spliced);
          expect(inserted.length === 0 ? ['ok'] : allReasons).toContain(reason);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('validateMessage: property of signed polls', () => {
  it('accepts a trusted poll exactly when it is fresh and its values are valid, and returns it unchanged', () => {
    const metric = fc.record({
      name: fc.string({ maxLength: 12 }),
      value: fc.oneof(
        fc.record({ kind: fc.constant('numeric' as const), value: fc.double() }),
        fc.record({ kind: fc.constant('string' as const), value: fc.string({ maxLength: 20 }) }),
        fc.record({
          kind: fc.constant('counter' as const),
          value: fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }),
          bits: fc.constant(32 as const),
        }),
        fc.record({
          kind: fc.constant('counter' as const),
          value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          bits: fc.constant(64 as const),
        }),
      ),
      unit: fc.constantFrom('', 'bytes', 'percent'),
      oid: fc.constant('1.3.6.1.2.1.1.3.0'),
      labels: fc.array(fc.record({ key: fc.string({ maxLength: 5 }), value: fc.string({ maxLength: 5 }) }), {
        maxLength: 2,
      }),
    });
    let slot = 5_000n;
    fc.assert(
      fc.property(
        fc.array(metric, { maxLength: 8 }),
        fc.constantFrom('corpus-router-1', 'corpus-router-2'),
        fc.integer({ min: -120_000, max: 3_700_000 }),
        (metrics, deviceId, ageMs) => {
          const s = slot++;
          const poll: DevicePoll = {
            deviceId,
            protocol: 'snmp',
            intervalS: 60,
            slot: s,
            slotStartNs: s * 60_000_000_000n,
            observedAtNs: s * 60_000_000_000n + 7n,
            metrics,
            status: {
              state: 'ok',
              reason: '',
              durationMs: 4,
              varbindsRequested: metrics.length,
              varbindsReceived: metrics.length,
              bytesCollected: 100,
            },
          };
          const tsNs = nowNs - BigInt(ageMs) * 1_000_000n;
          const value = frame(schemaId, [0], buildSignedEnvelope(poll, signerFor(corpus.keys.main), tsNs));
          const result = validateMessage(value, context({ maxMessageBytes: 1_000_000 }));
          const valid = metrics.every(
            (m) => m.name !== '' && (m.value.kind !== 'numeric' || Number.isFinite(m.value.value)),
          );
          if (ageMs > options.freshnessWindowMs) {
            expect(result).toMatchObject({ ok: false, reason: RejectReason.Stale });
          } else if (-ageMs > options.maxFutureSkewMs) {
            expect(result).toMatchObject({ ok: false, reason: RejectReason.Future });
          } else if (valid) {
            expect(result.ok, result.ok ? '' : result.detail).toBe(true);
            if (result.ok) expect(result.poll).toEqual(poll);
          } else {
            expect(result).toMatchObject({ ok: false, reason: RejectReason.InvalidValues, deviceId });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('dlqHeaders', () => {
  it('carries reason, message, source and time as strings under the DlqHeader names', () => {
    const headers = dlqHeaders(
      { reason: RejectReason.Stale, detail: 'built 2 h ago' },
      { topic: 'amoskys.telemetry.raw.v1', partition: 3, offset: '1234', key: Buffer.from('router-1') },
      1_795_000_000_123.9,
    );
    expect(headers).toEqual({
      [DlqHeader.Reason]: 'stale',
      [DlqHeader.Message]: 'built 2 h ago',
      [DlqHeader.SourceTopic]: 'amoskys.telemetry.raw.v1',
      [DlqHeader.SourcePartition]: '3',
      [DlqHeader.SourceOffset]: '1234',
      [DlqHeader.SourceKey]: 'router-1',
      [DlqHeader.RejectedAtMs]: '1795000000123',
    });
  });

  it('omits a missing key and cuts long messages', () => {
    const headers = dlqHeaders(
      { reason: RejectReason.Undecodable, detail: '🙂'.repeat(5000) },
      { topic: 't', partition: 0, offset: 5n, key: null },
      0,
    );
    expect(headers).not.toHaveProperty(DlqHeader.SourceKey);
    expect(Array.from(headers[DlqHeader.Message] as string)).toHaveLength(MAX_DLQ_MESSAGE_CHARS);
    expect(headers[DlqHeader.SourceOffset]).toBe('5');
  });

  it('bounds what a hostile message can put into a reject detail', () => {
    const poll = (deviceId: string): DevicePoll => ({
      deviceId,
      protocol: 'snmp',
      intervalS: 60,
      slot: 1n,
      slotStartNs: 60_000_000_000n,
      observedAtNs: 60_000_000_001n,
      metrics: [],
      status: {
        state: 'ok',
        reason: '',
        durationMs: 1,
        varbindsRequested: 0,
        varbindsReceived: 0,
        bytesCollected: 0,
      },
    });
    const ctx = context({ maxMessageBytes: 1_000_000 });
    // An untrusted key id of 100k characters.
    const attacker = generateSigningKey({
      keyId: 'x',
      devices: ['d'],
      secretKey: new Uint8Array(32).fill(70),
    });
    const hostileKeyId = `k${'x'.repeat(100_000)}`;
    const unknown = validateMessage(
      frame(
        schemaId,
        [0],
        signEnvelopeBytes(encodeUnsignedEnvelope(poll('d'), hostileKeyId, nowNs), signerFor(attacker)),
      ),
      ctx,
    );
    expect(unknown).toMatchObject({ ok: false, reason: RejectReason.UnknownKey });
    if (!unknown.ok) expect(unknown.detail.length).toBeLessThan(200);
    // A trusted key signing an envelope with a protocol of 100k characters (toDevicePoll quotes it).
    const longProtocol = { ...poll('corpus-router-1'), protocol: 'p'.repeat(100_000) as 'snmp' };
    const mismatched = validateMessage(
      frame(schemaId, [0], buildSignedEnvelope(longProtocol, signerFor(corpus.keys.main), nowNs)),
      ctx,
    );
    expect(mismatched).toMatchObject({ ok: false, reason: RejectReason.InvalidValues });
    if (!mismatched.ok) expect(mismatched.detail.length).toBe(500);
  });
});
