/**
 * Fuzzing decodeFeatureRow, the reader of amoskys.telemetry.features.v1 (the ClickHouse sink's
 * input): garbage, damaged golden rows and rows with out-of-contract fields (NaN and infinite
 * doubles, 64-bit values in 32-bit fields, unknown enum numbers, counter widths other than 32/64,
 * wrong wire types, invalid UTF-8) come back as a row that keeps the contract or as a failure,
 * never as an exception.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import {
  decodeFeatureRow,
  encodeFeatureRow,
  type FeatureRow,
  featureColumns,
  RateState,
} from '../../../src/core/features/index.ts';
import { PollState } from '../../../src/core/telemetry/index.ts';
import { bytesField, tag, varint } from '../../helpers/protobuf.ts';
import {
  edgeDouble,
  edgeUint64,
  fuzzParams,
  fuzzTimeoutMs,
  hostileString,
  mutatePayload,
  mutation,
  uint32Max,
  uint64Max,
} from './arbitraries.ts';

vi.setConfig({ testTimeout: fuzzTimeoutMs });

/** The golden rows (test/fixtures/features). */
const goldenRows = ['snmpd-agent-restart', 'snmpd-rates', 'unreachable'].map(
  (name) => new Uint8Array(readFileSync(`${repoRoot}/test/fixtures/features/${name}.bin`)),
);

const float64 = (v: number): number[] => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...b];
};
const utf8Garbage = fc.constantFrom([0xff], [0xed, 0xa0, 0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf]);
const text = fc.oneof(
  hostileString.map((s) => [...new TextEncoder().encode(s)]),
  utf8Garbage,
);

/** An ExtraMetric message with any mix of fields, valid or not. */
const extraMessage: fc.Arbitrary<number[]> = fc
  .array(
    fc.oneof(
      text.map((t) => bytesField(1, t)),
      fc.tuple(text, text).map(([k, v]) => bytesField(2, [...bytesField(1, k), ...bytesField(2, v)])),
      fc.uint8Array({ maxLength: 6 }).map((garbage) => bytesField(2, garbage)),
      edgeDouble.map((v) => [...tag(3, 1), ...float64(v)]),
      text.map((t) => bytesField(4, t)),
      edgeUint64.map((v) => [...tag(5, 0), ...varint(v)]),
      fc.oneof(fc.constantFrom(0n, 16n, 32n, 64n, 33n), edgeUint64).map((v) => [...tag(6, 0), ...varint(v)]),
      edgeDouble.map((v) => [...tag(7, 1), ...float64(v)]),
      text.map((t) => bytesField(8, t)),
    ),
    { maxLength: 8 },
  )
  .map((fields) => fields.flat());

const columnField = fc.constantFrom(...featureColumns).chain((c): fc.Arbitrary<number[]> => {
  switch (c.type) {
    case 'double':
      return edgeDouble.map((v) => [...tag(c.field, 1), ...float64(v)]);
    case 'string':
      return text.map((t) => bytesField(c.field, t));
    default:
      return edgeUint64.map((v) => [...tag(c.field, 0), ...varint(v)]);
  }
});

/** One field a FeatureRow writer outside this code base might send. */
const strayRowField: fc.Arbitrary<number[]> = fc.oneof(
  columnField,
  // Header fields: uint64 values in uint32 and enum fields, any value in uint64 fields.
  fc
    .tuple(fc.constantFrom(3, 4, 5, 7, 8, 10, 11, 12, 13, 14, 16), edgeUint64)
    .map(([field, v]) => [...tag(field, 0), ...varint(v)]),
  fc.tuple(fc.constantFrom(1, 2, 6, 9), text).map(([field, t]) => bytesField(field, t)),
  extraMessage.map((m) => bytesField(15, m)),
  // Any field number with any (valid) wire type and content.
  fc
    .tuple(
      fc.integer({ min: 1, max: 70 }),
      fc.constantFrom(0, 1, 2, 5),
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
    )
    .map(([field, wireType, b]) => {
      if (wireType === 0) return [...tag(field, 0), ...varint(Buffer.from(b).readBigUInt64LE())];
      if (wireType === 1) return [...tag(field, 1), ...b];
      if (wireType === 5) return [...tag(field, 5), ...b.subarray(0, 4)];
      return bytesField(field, b);
    }),
);

/** Feature-row bytes of every sort. */
const rowBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 128 }),
  fc
    .tuple(fc.constantFrom(...goldenRows), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([row, ms]) => mutatePayload(row, ms)),
  fc
    .tuple(
      fc.constantFrom(...goldenRows, new Uint8Array()),
      fc.array(strayRowField, { minLength: 1, maxLength: 4 }),
    )
    .map(([row, fields]) => Uint8Array.from([...row, ...fields.flat()])),
);

const pollStates: readonly string[] = [...Object.values(PollState), 'unknown'];
const rateStates: readonly string[] = [...Object.values(RateState), 'unknown'];
const isUint32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= uint32Max;
const isUint64 = (v: unknown) => typeof v === 'bigint' && v >= 0n && v <= uint64Max;

/** What a decoded row promises the sink. */
function checkRow(row: FeatureRow): void {
  for (const v of [row.slotStartNs, row.observedAtNs, row.envelopeTsNs]) expect(isUint64(v)).toBe(true);
  if (row.previousObservedAtNs !== undefined) expect(isUint64(row.previousObservedAtNs)).toBe(true);
  for (const v of [row.intervalS, row.pollDurationMs, row.pollVarbindsRequested, row.pollVarbindsReceived]) {
    expect(isUint32(v), String(v)).toBe(true);
  }
  expect(Number.isInteger(row.pollBytesCollected) && row.pollBytesCollected >= 0).toBe(true);
  expect(pollStates).toContain(row.pollState);
  expect(rateStates).toContain(row.rateState);
  const features = row.features as Record<string, unknown>;
  for (const c of featureColumns) {
    const v = features[c.name];
    if (v === undefined) continue;
    if (c.type === 'double') expect(Number.isFinite(v), `${c.name} = ${String(v)}`).toBe(true);
    if (c.type === 'uint32') expect(isUint32(v), `${c.name} = ${String(v)}`).toBe(true);
    if (c.type === 'uint64') expect(isUint64(v), `${c.name} = ${String(v)}`).toBe(true);
    if (c.type === 'string') expect(typeof v).toBe('string');
  }
  for (const e of row.extra) {
    if (e.perSecond !== undefined)
      expect(Number.isFinite(e.perSecond), `${e.name} ${e.perSecond}`).toBe(true);
    if (e.value.kind === 'counter') {
      expect([32, 64]).toContain(e.value.bits);
      expect(isUint64(e.value.value)).toBe(true);
    }
  }
}

describe('decodeFeatureRow on generated malformed input', () => {
  it('answers any bytes with a row that keeps the contract, or a failure with words, never an exception', () => {
    fc.assert(
      fc.property(rowBytes, (bytes) => {
        const decoded = decodeFeatureRow(bytes);
        if (decoded.ok) checkRow(decoded.row);
        else expect(decoded.detail.length).toBeGreaterThan(0);
      }),
      fuzzParams(1500),
    );
  });

  it('refuses a non-finite double column and a non-finite rate, wherever they are', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...goldenRows),
        fc.constantFrom(...featureColumns.filter((c) => c.type === 'double')),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        fc.boolean(),
        (row, column, value, inExtra) => {
          const field = inExtra
            ? bytesField(15, [...bytesField(1, [0x78]), ...tag(7, 1), ...float64(value)])
            : [...tag(column.field, 1), ...float64(value)];
          const decoded = decodeFeatureRow(Uint8Array.from([...row, ...field]));
          expect(decoded.ok).toBe(false);
        },
      ),
      fuzzParams(200),
    );
  });

  it('reads back what it reads: a decoded row the writer takes decodes to itself', () => {
    fc.assert(
      fc.property(rowBytes, (bytes) => {
        const decoded = decodeFeatureRow(bytes);
        if (!decoded.ok) return;
        const { row } = decoded;
        // Rows from a newer writer (states, value kinds this reader lacks) and byte counts beyond
        // 2^53 are readable but, by design, not writable.
        const writable =
          row.pollState !== 'unknown' &&
          row.rateState !== 'unknown' &&
          Number.isSafeInteger(row.pollBytesCollected) &&
          row.extra.every((e) => e.value.kind !== 'unknown');
        if (!writable) return;
        const again = decodeFeatureRow(encodeFeatureRow(row));
        expect(again).toEqual({ ok: true, row });
      }),
      fuzzParams(1000),
    );
  });
});
