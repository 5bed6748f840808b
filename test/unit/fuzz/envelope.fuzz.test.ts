/**
 * Fuzzing the envelope's byte readers: the Confluent frame (unframe), the protobuf field scanner
 * (readVarint, scanFields), the signature split and check (splitSignature, verifyEnvelopeBytes)
 * and the decoder (decodeEnvelope, toDevicePoll). Each must answer every input with a result from
 * its closed list of reasons, never with an exception, and a change to the signed bytes of a
 * valid envelope must never verify.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  buildSignedEnvelope,
  decodeEnvelope,
  EnvelopeFailure,
  MAX_FIELD_NUMBER,
  readVarint,
  scanFields,
  splitSignature,
  toDevicePoll,
  verifyEnvelopeBytes,
  WireType,
} from '../../../src/core/envelope/index.ts';
import { frame, UnframeFailure, unframe } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { idempotencyKey } from '../../../src/core/telemetry/index.ts';
import { varint } from '../../helpers/protobuf.ts';
import {
  baseArb,
  encodeHostile,
  envelopeTsNs,
  fuzzParams,
  fuzzTimeoutMs,
  hostileEnvelope,
  lookupPublicKey,
  mutate,
  mutatePayload,
  mutation,
  pollArb,
  signers,
  uint64Max,
} from './arbitraries.ts';
import { equalBytes, onlySignatureMoved } from './checks.ts';

vi.setConfig({ testTimeout: fuzzTimeoutMs });

const envelopeFailures: readonly string[] = Object.values(EnvelopeFailure);
const unframeFailures: readonly string[] = Object.values(UnframeFailure);
const scanFailures: readonly string[] = [
  EnvelopeFailure.Truncated,
  EnvelopeFailure.VarintOverflow,
  EnvelopeFailure.GroupWireType,
  EnvelopeFailure.InvalidWireType,
  EnvelopeFailure.InvalidFieldNumber,
];

/** A mutated base, unframed when its frame survived (else the mutated bytes as they are). */
const mutatedPayload = fc
  .tuple(baseArb, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([base, mutations]) => ({ base, payload: mutatePayload(unframePayload(base.value), mutations) }));

/** Bytes of every sort: random, mutated envelopes, validly signed envelopes outside the contract. */
const anyPayload: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  mutatedPayload.map((m) => m.payload),
  hostileEnvelope.map((h) => encodeHostile(h)),
);

describe('unframe (Confluent wire format)', () => {
  it('answers any bytes with a header it can justify or a reason from its list', () => {
    const frames = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      baseArb.chain((b) =>
        fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => mutate(b.value, ms)),
      ),
    );
    fc.assert(
      fc.property(frames, (bytes) => {
        const result = unframe(bytes);
        if (!result.ok) {
          expect(unframeFailures).toContain(result.reason);
          expect(result.detail).not.toBe('');
          return;
        }
        expect(bytes[0]).toBe(0);
        expect(result.schemaId).toBe(Buffer.from(bytes).readUInt32BE(1));
        expect(result.headerLength).toBeGreaterThanOrEqual(6);
        expect(result.headerLength).toBeLessThanOrEqual(bytes.length);
        expect(equalBytes(result.payload, bytes.subarray(result.headerLength))).toBe(true);
        expect(result.messageIndexes.length).toBeGreaterThan(0);
        for (const index of result.messageIndexes) {
          expect(Number.isInteger(index) && index >= 0 && index <= 0x7fff_ffff).toBe(true);
        }
        // Re-framing is never longer: the writer uses the shortest spelling of the same header.
        // (Ids from 2^31 on are read, as unsigned, but frame() writes Java int ids only.)
        if (result.schemaId > 0x7fff_ffff) return;
        const again = frame(result.schemaId, result.messageIndexes, result.payload);
        expect(again.length).toBeLessThanOrEqual(bytes.length);
        expect(unframe(again)).toMatchObject({
          ok: true,
          schemaId: result.schemaId,
          messageIndexes: result.messageIndexes,
        });
      }),
      fuzzParams(1500),
    );
  });

  it('reads back every header frame() writes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fff_ffff }),
        fc.array(fc.oneof(fc.nat(3), fc.integer({ min: 0, max: 0x7fff_ffff })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.uint8Array({ maxLength: 32 }),
        (id, indexes, payload) => {
          const result = unframe(frame(id, indexes, payload));
          expect(result).toMatchObject({ ok: true, schemaId: id, messageIndexes: indexes });
          if (result.ok) expect(equalBytes(result.payload, payload)).toBe(true);
        },
      ),
      fuzzParams(1000),
    );
  });

  /** A zigzag varint as written, possibly with non-minimal padding (still at most 5 bytes). */
  const zigzag = (raw: bigint, padding: number): number[] => {
    const bytes = varint(raw);
    const pad = Math.min(padding, 5 - bytes.length);
    if (pad <= 0) return bytes;
    return [...bytes.map((b) => b | 0x80), ...Array<number>(pad - 1).fill(0x80), 0x00];
  };

  it('reads hand-written index arrays in any varint spelling, and refuses broken ones', () => {
    const index = fc.record({ value: fc.integer({ min: 0, max: 0x7fff_ffff }), padding: fc.nat(4) });
    const broken = fc.oneof(
      // Negative (odd zigzag), over 32 bits, longer than 5 bytes.
      fc.integer({ min: 0, max: 0x7fff_ffff }).map((n) => varint(BigInt(n) * 2n + 1n)),
      fc.bigInt({ min: 2n ** 32n, max: 2n ** 34n }).map((raw) => varint(raw)),
      fc.constant<number[]>([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
    );
    fc.assert(
      fc.property(
        fc.array(index, { minLength: 1, maxLength: 5 }),
        fc.nat(4),
        fc.option(fc.tuple(fc.nat(), broken), { nil: undefined }),
        fc.uint8Array({ maxLength: 8 }),
        (indexes, countPadding, damage, payload) => {
          const items = [
            zigzag(BigInt(indexes.length) * 2n, countPadding),
            ...indexes.map((i) => zigzag(BigInt(i.value) * 2n, i.padding)),
          ];
          if (damage !== undefined) items[damage[0] % items.length] = damage[1];
          const bytes = Uint8Array.from([0, 0, 0, 0, 9, ...items.flat(), ...payload]);
          const result = unframe(bytes);
          if (damage === undefined) {
            expect(result).toMatchObject({
              ok: true,
              schemaId: 9,
              messageIndexes: indexes.map((i) => i.value),
            });
            if (result.ok) expect(equalBytes(result.payload, payload)).toBe(true);
          } else {
            // A broken count or index is refused; a damaged count can only claim more than there is.
            expect(result.ok, Buffer.from(bytes).toString('hex')).toBe(false);
          }
        },
      ),
      fuzzParams(2000),
    );
  });
});

describe('readVarint and scanFields (protobuf wire format)', () => {
  /** One field as a model, and how it is spelled. */
  const field = fc.record({
    number: fc.oneof(
      fc.integer({ min: 1, max: 20 }),
      fc.constant(MAX_FIELD_NUMBER),
      fc.integer({ min: 1, max: MAX_FIELD_NUMBER }),
    ),
    wireType: fc.constantFrom(WireType.Varint, WireType.Fixed64, WireType.LengthDelimited, WireType.Fixed32),
    value: fc.bigInt({ min: 0n, max: uint64Max }),
    bytes: fc.uint8Array({ maxLength: 20 }),
    tagPadding: fc.nat(3),
  });
  type Field = typeof field extends fc.Arbitrary<infer F> ? F : never;

  const padded = (n: bigint, padding: number): number[] => {
    const bytes = varint(n);
    const pad = Math.min(padding, 10 - bytes.length);
    if (pad <= 0) return bytes;
    return [...bytes.map((b) => b | 0x80), ...Array<number>(pad - 1).fill(0x80), 0x00];
  };
  const encode = (f: Field): { tag: number[]; value: number[] } => {
    const tag = padded(BigInt(f.number) * 8n + BigInt(f.wireType), f.tagPadding);
    switch (f.wireType) {
      case WireType.Varint:
        return { tag, value: varint(f.value) };
      case WireType.Fixed64:
        return { tag, value: [...f.bytes, ...Array<number>(8).fill(0)].slice(0, 8) };
      case WireType.Fixed32:
        return { tag, value: [...f.bytes, ...Array<number>(4).fill(0)].slice(0, 4) };
      default:
        return { tag, value: [...varint(f.bytes.length), ...f.bytes] };
    }
  };

  it('finds exactly the fields a hand encoder wrote, in any varint spelling', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
        const expected: {
          fieldNumber: number;
          wireType: number;
          start: number;
          valueStart: number;
          end: number;
        }[] = [];
        const bytes: number[] = [];
        for (const f of fields) {
          const { tag, value } = encode(f);
          const start = bytes.length;
          const lengthBytes = f.wireType === WireType.LengthDelimited ? varint(f.bytes.length).length : 0;
          bytes.push(...tag, ...value);
          expected.push({
            fieldNumber: f.number,
            wireType: f.wireType,
            start,
            valueStart: start + tag.length + lengthBytes,
            end: bytes.length,
          });
        }
        expect(scanFields(Uint8Array.from(bytes))).toEqual({ ok: true, fields: expected });
      }),
      fuzzParams(2000),
    );
  });

  it('answers any bytes with fields that tile them exactly, or a reason from its list', () => {
    fc.assert(
      fc.property(anyPayload, (bytes) => {
        const scan = scanFields(bytes);
        if (!scan.ok) {
          expect(scanFailures).toContain(scan.reason);
          expect(scan.offset).toBeGreaterThanOrEqual(0);
          expect(scan.offset).toBeLessThanOrEqual(bytes.length);
          return;
        }
        let offset = 0;
        for (const f of scan.fields) {
          expect(f.start).toBe(offset);
          expect(f.fieldNumber >= 1 && f.fieldNumber <= MAX_FIELD_NUMBER).toBe(true);
          expect([0, 1, 2, 5]).toContain(f.wireType);
          expect(f.valueStart).toBeGreaterThan(f.start);
          expect(f.valueStart).toBeLessThanOrEqual(f.end);
          offset = f.end;
        }
        expect(offset).toBe(bytes.length);
      }),
      fuzzParams(1000),
    );
  });

  it('readVarint reads any bytes at any offset exactly, or says truncated / overflow', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 14 }), fc.nat(16), (bytes, offset) => {
        const result = readVarint(bytes, offset);
        // Reference: unbounded BigInt decode of the same bytes.
        let value = 0n;
        let end: number | undefined;
        for (let i = offset; i < bytes.length && i < offset + 10; i++) {
          value |= BigInt((bytes[i] as number) & 0x7f) << BigInt(7 * (i - offset));
          if (((bytes[i] as number) & 0x80) === 0) {
            end = i + 1;
            break;
          }
        }
        if (typeof result === 'string') {
          if (end === undefined)
            expect([EnvelopeFailure.Truncated, EnvelopeFailure.VarintOverflow]).toContain(result);
          else expect({ result, value }).toMatchObject({ result: EnvelopeFailure.VarintOverflow });
          if (end !== undefined) expect(value > uint64Max).toBe(true);
          return;
        }
        expect(result.next).toBe(end);
        expect(value <= uint64Max).toBe(true);
        if (value <= 2n ** 53n) expect(BigInt(result.value)).toBe(value);
      }),
      fuzzParams(3000),
    );
  });
});

describe('splitSignature and verifyEnvelopeBytes', () => {
  it('answer any bytes with a reason from the closed list, or a 64-byte signature cut out of them', () => {
    fc.assert(
      fc.property(anyPayload, (bytes) => {
        const split = splitSignature(bytes);
        const verified = verifyEnvelopeBytes(bytes, lookupPublicKey);
        if (!verified.ok) expect(envelopeFailures).toContain(verified.reason);
        if (!split.ok) {
          expect(envelopeFailures).toContain(split.reason);
          expect(verified.ok).toBe(false);
          return;
        }
        expect(split.signature.length).toBe(64);
        expect(split.signingInput.length).toBe(bytes.length - 66);
        // The bytes are the signing input with `0x7a 0x40 <signature>` inserted at one place.
        const field = Uint8Array.from([0x7a, 0x40, ...split.signature]);
        const found = [...bytes.keys()].some(
          (i) =>
            bytes[i] === 0x7a &&
            equalBytes(bytes.subarray(i, i + 66), field) &&
            equalBytes(bytes.subarray(0, i), split.signingInput.subarray(0, i)) &&
            equalBytes(bytes.subarray(i + 66), split.signingInput.subarray(i)),
        );
        expect(found).toBe(true);
        if (verified.ok) expect(verified.signingKeyId).toBe(split.signingKeyId);
      }),
      fuzzParams(1500),
    );
  });

  it('never verifies a valid envelope whose signed bytes were changed', () => {
    fc.assert(
      fc.property(mutatedPayload, ({ base, payload }) => {
        const verified = verifyEnvelopeBytes(payload, lookupPublicKey);
        if (verified.ok) {
          expect(onlySignatureMoved(payload, base), Buffer.from(payload).toString('hex')).toBe(true);
        } else {
          expect(envelopeFailures).toContain(verified.reason);
        }
      }),
      fuzzParams(3000),
    );
  });
});

describe('decodeEnvelope and toDevicePoll', () => {
  it('answer any bytes with a result, never an exception; a poll only when it is self-consistent', () => {
    fc.assert(
      fc.property(anyPayload, (bytes) => {
        const decoded = decodeEnvelope(bytes);
        if (!decoded.ok) {
          expect([EnvelopeFailure.MalformedProtobuf, EnvelopeFailure.InvalidValue]).toContain(decoded.reason);
          return;
        }
        const { header, telemetry } = decoded.envelope;
        expect(header.tsNs >= 0n && header.tsNs <= uint64Max).toBe(true);
        for (const m of telemetry?.metrics ?? []) {
          if (m.value.kind === 'counter') {
            expect([32, 64]).toContain(m.value.bits);
            expect(m.value.value >= 0n && m.value.value <= uint64Max).toBe(true);
          }
        }
        const polled = toDevicePoll(decoded.envelope);
        if (!polled.ok) {
          expect(polled.detail).not.toBe('');
          return;
        }
        const { poll } = polled;
        // The key is exactly the producer's spelling for the poll (an interval beyond 2^53 cannot
        // be, and validation refuses it).
        if (Number.isSafeInteger(poll.intervalS)) expect(idempotencyKey(poll)).toBe(header.idempotencyKey);
        expect(poll.deviceId).toBe(telemetry?.deviceId);
        expect(poll.protocol).toBe('snmp');
        expect(poll.metrics.every((m) => m.value.kind !== ('unknown' as string))).toBe(true);
      }),
      fuzzParams(1500),
    );
  });

  it('give back the poll a producer signed, unless a string in it is not well-formed UTF-16', () => {
    // protobufjs writes a lone surrogate as the 3 bytes of its code unit, which are not UTF-8,
    // and its reader refuses them: such a poll is signed but can never be decoded. Reported, not
    // fixed here (the envelope builder could refuse such strings).
    const wellFormed = (p: DevicePoll): boolean =>
      [
        p.deviceId,
        p.status.reason,
        ...p.metrics.flatMap((m) => [
          m.name,
          m.unit,
          m.oid,
          ...(m.value.kind === 'string' ? [m.value.value] : []),
          ...m.labels.flatMap((l) => [l.key, l.value]),
        ]),
      ].every((s) => s.isWellFormed());
    fc.assert(
      fc.property(pollArb(), envelopeTsNs, (poll, tsNs) => {
        const decoded = decodeEnvelope(buildSignedEnvelope(poll, signers.main, tsNs));
        if (!wellFormed(poll)) {
          expect(decoded).toMatchObject({ ok: false, reason: EnvelopeFailure.MalformedProtobuf });
          return;
        }
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.envelope.header.tsNs).toBe(tsNs);
        const polled = toDevicePoll(decoded.envelope);
        expect(polled.ok).toBe(true);
        if (polled.ok) {
          expect(polled.poll).toEqual({
            ...poll,
            status: { ...poll.status, durationMs: Math.round(poll.status.durationMs) },
          });
        }
      }),
      fuzzParams(500),
    );
  });
});

function unframePayload(value: Uint8Array): Uint8Array {
  const result = unframe(value);
  if (!result.ok) throw new Error(result.detail);
  return result.payload;
}
