/**
 * Fuzzing the processor's validation (validateMessage and the worker's validateSlice): every
 * message, however broken, gets exactly one verdict from the closed list of reject reasons or is
 * accepted; a batch is fully accounted for; a valid envelope whose signed bytes were changed is
 * never accepted; what is accepted keeps every promise the flattener relies on.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { unframe } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { RejectReason } from '../../../src/processors/telemetry/types.ts';
import { type ValidateResult, validateMessage } from '../../../src/processors/telemetry/validate.ts';
import validateSlice from '../../../src/processors/telemetry/validate-worker.ts';
import {
  baseArb,
  bases,
  context,
  encodeHostile,
  envelopeTsNs,
  framed,
  freshnessWindowMs,
  fuzzParams,
  fuzzTimeoutMs,
  hostileEnvelope,
  maxFutureSkewMs,
  mutate,
  mutation,
  nowNs,
  pollArb,
  rejectReasons,
  schemaId,
  signedPoll,
  signers,
  trust,
  verdictOf,
} from './arbitraries.ts';
import { checkResult, envelopeFrameLength, onlySignatureMoved } from './checks.ts';

vi.setConfig({ testTimeout: fuzzTimeoutMs });

const ctx = context();

/** The verdict of each unchanged base, and its poll when accepted. */
const baseResults = new Map(bases.map((b) => [b, validateMessage(b.value, ctx)]));

/** Raw-topic values of every sort, from producer-perfect to garbage. */
const anyMessage: fc.Arbitrary<Uint8Array | null> = fc.oneof(
  { weight: 1, arbitrary: baseArb.map((b) => b.value) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(baseArb, fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([b, ms]) => mutate(b.value, ms)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(pollArb(), envelopeTsNs, fc.constantFrom(...Object.values(signers)))
      .map(([p, ts, s]) => signedPoll(p, ts, s)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(hostileEnvelope, fc.constantFrom(schemaId, schemaId, schemaId, 8))
      .map(([h, id]) => framed(encodeHostile(h), id)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((p) => framed(p)) },
  { weight: 1, arbitrary: fc.constant(null) },
);

describe('validateMessage on generated malformed input', () => {
  it('starts from envelopes it judges as expected (the golden fixtures, polls of the fuzz keys)', () => {
    for (const b of bases) expect(verdictOf(baseResults.get(b) as ValidateResult), b.name).toBe(b.verdict);
  });

  it('answers every message with one verdict of the closed list, never by its last-resort catch', () => {
    fc.assert(
      fc.property(anyMessage, (value) => {
        checkResult(validateMessage(value, ctx));
      }),
      fuzzParams(1500),
    );
  });

  it('accounts for every message of a batch: accepted + rejected by reason = inputs', () => {
    const task = (values: (Uint8Array | null)[]) => ({
      values,
      trust,
      nowNs,
      freshnessWindowMs,
      maxFutureSkewMs,
      maxMessageBytes: ctx.maxMessageBytes,
      knownSchemaIds: [schemaId],
    });
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 24 }), (values) => {
        // The worker's entry point, as the processor calls it.
        const results = validateSlice(task(values));
        expect(results).toHaveLength(values.length);
        const tally = new Map<string, number>();
        for (const r of results) {
          const verdict = r.ok ? 'ok' : r.reason;
          if (!r.ok) expect(rejectReasons).toContain(r.reason);
          tally.set(verdict, (tally.get(verdict) ?? 0) + 1);
        }
        expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(values.length);
        // Pure: a message's verdict does not depend on the rest of the batch or its order.
        const reversed = validateSlice(task([...values].reverse())).reverse();
        expect(reversed).toEqual(results);
        values.forEach((value, i) => {
          const single = validateMessage(value, ctx);
          expect(verdictOf(single)).toBe(results[i]?.ok ? 'ok' : (results[i] as { reason: string }).reason);
        });
      }),
      fuzzParams(60),
    );
  });

  it('never accepts a valid envelope whose signed bytes were changed', () => {
    fc.assert(
      fc.property(baseArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, mutations) => {
        const value = mutate(base.value, mutations);
        const result = validateMessage(value, ctx);
        checkResult(result);
        if (!result.ok) return;
        // Accepted: the frame still says (schema id, [0]) in some spelling, the signed bytes are
        // the base's, the signature field at most moved; so the poll is the base's poll.
        const headerLength = envelopeFrameLength(value);
        expect(headerLength, Buffer.from(value).toString('hex')).toBeDefined();
        const payload = value.subarray(headerLength);
        expect(onlySignatureMoved(payload, base), Buffer.from(value).toString('hex')).toBe(true);
        const original = baseResults.get(base);
        expect(original?.ok).toBe(true);
        if (original?.ok) expect(result).toEqual(original);
      }),
      fuzzParams(3000),
    );
  });

  it('accepts changes that leave the signed bytes alone: a moved signature field, another spelling of [0]', () => {
    const base = bases.find((b) => b.name === 'fuzz-ok');
    if (base === undefined) throw new Error('no fuzz-ok base');
    const original = baseResults.get(base);
    const signedFirst = framed(Uint8Array.from([...base.signatureField, ...base.signingInput]));
    const header = base.value.subarray(0, 5);
    const longIndexes = Uint8Array.from([...header, 0x02, 0x00, ...unframePayload(base.value)]);
    const paddedCount = Uint8Array.from([...header, 0x80, 0x00, ...unframePayload(base.value)]);
    for (const value of [signedFirst, longIndexes, paddedCount]) {
      expect(validateMessage(value, ctx)).toEqual(original);
    }
    // ...while the same fields with a tag spelled one byte longer are other signed bytes.
    const padded = mutate(base.value, [{ kind: 'padTag', field: 0, padding: 1 }]);
    expect(validateMessage(padded, ctx)).toMatchObject({ ok: false, reason: RejectReason.BadSignature });
  });

  it('gives back the poll a producer signed, or says why not', () => {
    fc.assert(
      fc.property(pollArb(), envelopeTsNs, (poll: DevicePoll, tsNs) => {
        const result = validateMessage(signedPoll(poll, tsNs), ctx);
        checkResult(result);
        if (result.ok) {
          expect(result.poll).toEqual({
            ...poll,
            status: { ...poll.status, durationMs: Math.round(poll.status.durationMs) },
          });
          expect(result.envelopeTsNs).toBe(tsNs);
        }
      }),
      fuzzParams(800),
    );
  });

  it('judges validly signed envelopes outside the contract by value, never by exception', () => {
    fc.assert(
      fc.property(hostileEnvelope, (h) => {
        checkResult(validateMessage(framed(encodeHostile(h)), ctx));
      }),
      fuzzParams(800),
    );
  });
});

function unframePayload(value: Uint8Array): Uint8Array {
  const result = unframe(value);
  if (!result.ok) throw new Error(result.detail);
  return result.payload;
}
