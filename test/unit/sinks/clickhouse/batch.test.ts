/**
 * Batch planning of the sink (src/sinks/clickhouse/batch.ts): where a partition's messages are cut
 * into inserts, that the same messages always give the same cut, the month partition of a slot
 * start in the server's time zone, and the offset-commit metadata that records a batch's end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchSpan,
  intentMetadata,
  monthPartitioner,
  type Plannable,
  parseIntentMetadata,
  planBatches,
} from '../../../../src/sinks/clickhouse/batch.ts';

const rows = (...counts: number[]): Plannable[] => counts.map((n) => ({ rows: n }));
const inMonth = (partition: string, ...counts: number[]): Plannable[] =>
  counts.map((n) => ({ rows: n, partition }));
const spans = (...pairs: [number, number][]): BatchSpan[] => pairs.map(([start, end]) => ({ start, end }));

describe('planBatches', () => {
  it('plans nothing for no messages', () => {
    expect(planBatches([], 10)).toEqual([]);
    expect(planBatches([], 10, 3)).toEqual([]);
  });

  it('cuts before the message that would take a batch over maxRows', () => {
    expect(planBatches(rows(4, 4, 4, 4), 10)).toEqual(spans([0, 2], [2, 4]));
    // Exactly maxRows still fits.
    expect(planBatches(rows(5, 5, 5), 10)).toEqual(spans([0, 2], [2, 3]));
    expect(planBatches(rows(10, 10, 10), 10)).toEqual(spans([0, 1], [1, 2], [2, 3]));
    expect(planBatches(rows(3, 3, 3), 100)).toEqual(spans([0, 3]));
  });

  it('puts a message larger than maxRows in a batch of its own', () => {
    expect(planBatches(rows(2, 50, 3), 10)).toEqual(spans([0, 1], [1, 2], [2, 3]));
    expect(planBatches(rows(50), 10)).toEqual(spans([0, 1]));
    expect(planBatches(rows(50, 60), 10)).toEqual(spans([0, 1], [1, 2]));
  });

  it('cuts where the partition changes, even far below maxRows', () => {
    const items = [...inMonth('202611', 3, 3), ...inMonth('202612', 3), ...inMonth('202611', 3)];
    expect(planBatches(items, 1_000)).toEqual(spans([0, 2], [2, 3], [3, 4]));
  });

  it('lets messages without rows or partition (skipped, dead letters) join the batch they fall in', () => {
    // Skips between rows of one partition: one batch.
    const a = [{ rows: 0 }, ...inMonth('202611', 5), { rows: 0 }, ...inMonth('202611', 5), { rows: 0 }];
    expect(planBatches(a, 10)).toEqual(spans([0, 5]));
    // A skip before a partition change goes with the batch before it.
    const b = [...inMonth('202611', 5), { rows: 0 }, ...inMonth('202612', 5)];
    expect(planBatches(b, 100)).toEqual(spans([0, 2], [2, 3]));
    // Skips first: the batch takes the partition of its first message that has one.
    const c = [{ rows: 0 }, { rows: 0 }, ...inMonth('202612', 5), ...inMonth('202701', 1)];
    expect(planBatches(c, 100)).toEqual(spans([0, 3], [3, 4]));
    // A full batch still takes the skips after it.
    const d = [...inMonth('202611', 10), { rows: 0 }, { rows: 0 }, ...inMonth('202611', 1)];
    expect(planBatches(d, 10)).toEqual(spans([0, 3], [3, 4]));
    // Only skips: one batch (it inserts nothing, but its offsets are committed).
    expect(planBatches(rows(0, 0, 0), 10)).toEqual(spans([0, 3]));
  });

  it('counts dead letters (one row each, no partition) against maxRows', () => {
    expect(planBatches(rows(1, 1, 1, 1, 1), 2)).toEqual(spans([0, 2], [2, 4], [4, 5]));
  });

  it('ends the first batch after the index the previous owner recorded, and only the first', () => {
    const six = rows(1, 1, 1, 1, 1, 1);
    expect(planBatches(six, 100, 2)).toEqual(spans([0, 3], [3, 6]));
    expect(planBatches(six, 100, 0)).toEqual(spans([0, 1], [1, 6]));
    // The recorded end is the last message: one batch, nothing forced.
    expect(planBatches(six, 100, 5)).toEqual(spans([0, 6]));
    // Other cuts after the forced one happen as usual.
    expect(planBatches(rows(1, 1, 1, 4, 4, 4), 8, 1)).toEqual(spans([0, 2], [2, 4], [4, 6]));
    // A partition change before the recorded end still cuts (the previous owner cut there too),
    // and the recorded end then forces nothing in a later batch.
    const mixed = [...inMonth('202611', 1, 1), ...inMonth('202612', 1, 1)];
    expect(planBatches(mixed, 100, 2)).toEqual(spans([0, 2], [2, 4]));
  });

  it('is deterministic, and a prefix of the messages gives the same batches except the last', () => {
    const item = fc.record({
      rows: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
      partition: fc.option(fc.constantFrom('202611', '202612', '202701'), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 60 }),
        fc.integer({ min: 1, max: 60 }),
        fc.option(fc.nat(60), { nil: undefined }),
        fc.nat(60),
        (items, maxRows, firstEnd, cut) => {
          const plan = planBatches(items, maxRows, firstEnd);
          // Same input, same spans; a copy of it too.
          expect(
            planBatches(
              items.map((i) => ({ ...i })),
              maxRows,
              firstEnd,
            ),
          ).toEqual(plan);

          // The spans cover every message once, in order.
          let next = 0;
          for (const s of plan) {
            expect(s.start).toBe(next);
            expect(s.end).toBeGreaterThan(s.start);
            next = s.end;
          }
          expect(next).toBe(items.length);

          // Each batch: within maxRows unless it is one message; within one partition.
          for (const s of plan) {
            const batch = items.slice(s.start, s.end);
            const total = batch.reduce((sum, i) => sum + i.rows, 0);
            if (batch.filter((i) => i.rows > 0).length > 1) expect(total).toBeLessThanOrEqual(maxRows);
            expect(
              new Set(batch.flatMap((i) => (i.partition === undefined ? [] : [i.partition]))).size,
            ).toBeLessThanOrEqual(1);
          }
          if (firstEnd !== undefined && firstEnd < items.length - 1 && plan[0] !== undefined) {
            expect(plan[0].end).toBeLessThanOrEqual(firstEnd + 1);
          }

          // A prefix (a shorter fetch of the same partition) agrees on all but its last batch,
          // and that one starts where the full plan has a batch start.
          const prefix = planBatches(items.slice(0, cut), maxRows, firstEnd);
          const leading = prefix.slice(0, -1);
          expect(plan.slice(0, leading.length)).toEqual(leading);
          const last = prefix.at(-1);
          if (last !== undefined) expect(plan[leading.length]?.start).toBe(last.start);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Seconds since the epoch of a UTC date-time. */
const utc = (iso: string) => Date.parse(`${iso}Z`) / 1000;

describe('monthPartitioner', () => {
  it('UTC: the month changes at midnight UTC on the first', () => {
    const p = monthPartitioner('UTC');
    expect(p(utc('2026-11-30T23:59:59'))).toBe('202611');
    expect(p(utc('2026-12-01T00:00:00'))).toBe('202612');
    expect(p(utc('2026-12-31T23:59:59'))).toBe('202612');
    expect(p(utc('2027-01-01T00:00:00'))).toBe('202701');
    expect(p(utc('2028-02-29T23:59:59'))).toBe('202802');
    expect(p(utc('2028-03-01T00:00:00'))).toBe('202803');
    expect(p(0)).toBe('197001');
    // ClickHouse's name for it (18.16 reports Etc/UTC).
    expect(monthPartitioner('Etc/UTC')(utc('2026-11-30T23:59:59'))).toBe('202611');
  });

  it('Asia/Kathmandu (+05:45): 1 December 00:00 local is 30 November 18:15 UTC', () => {
    const p = monthPartitioner('Asia/Kathmandu');
    expect(p(utc('2026-11-30T18:00:00'))).toBe('202611');
    expect(p(utc('2026-11-30T18:14:59'))).toBe('202611');
    expect(p(utc('2026-11-30T18:15:00'))).toBe('202612');
    // New year: 2027-01-01T00:00+05:45 = 2026-12-31T18:15Z.
    expect(p(utc('2026-12-31T18:14:59'))).toBe('202612');
    expect(p(utc('2026-12-31T18:15:00'))).toBe('202701');
    // Memoised per quarter hour: asking again, out of order, gives the same answers.
    expect(p(utc('2026-11-30T18:14:59'))).toBe('202611');
    expect(p(utc('2026-11-30T18:29:59'))).toBe('202612');
  });

  it('America/St_Johns (-03:30 in winter, -02:30 in summer)', () => {
    const p = monthPartitioner('America/St_Johns');
    // 2027-01-01T00:00-03:30 = 2027-01-01T03:30Z.
    expect(p(utc('2027-01-01T03:29:59'))).toBe('202612');
    expect(p(utc('2027-01-01T03:30:00'))).toBe('202701');
    // 2026-12-01T00:00-03:30 (daylight time ended on 1 November) = 2026-12-01T03:30Z.
    expect(p(utc('2026-12-01T03:29:59'))).toBe('202611');
    expect(p(utc('2026-12-01T03:30:00'))).toBe('202612');
    // 2026-07-01T00:00-02:30 (daylight time) = 2026-07-01T02:30Z.
    expect(p(utc('2026-07-01T02:29:59'))).toBe('202606');
    expect(p(utc('2026-07-01T02:30:00'))).toBe('202607');
    // The UTC month already changed, the local one not yet.
    expect(p(utc('2026-07-01T00:00:00'))).toBe('202606');
  });
});

describe('intentMetadata', () => {
  it('round-trips the end offset, int64 offsets included', () => {
    for (const offset of ['0', '42', '9007199254740993', '9223372036854775807']) {
      expect(parseIntentMetadata(intentMetadata(offset))).toBe(offset);
    }
    expect(intentMetadata('42')).toBe('amoskys-sink/1 end=42');
  });

  it('reads nothing from any other metadata', () => {
    for (const other of [
      null,
      undefined,
      '',
      'amoskys-sink/1 end=',
      'amoskys-sink/1 end=-1',
      'amoskys-sink/1 end=1e3',
      'amoskys-sink/1 end=42 ',
      ' amoskys-sink/1 end=42',
      'amoskys-sink/1 end=42\n',
      'amoskys-sink/1  end=42',
      'amoskys-sink/2 end=42',
      'amoskys-sink/1 END=42',
      'amoskys-sink/1 end=４２',
      'other-tool end=42',
    ]) {
      expect(parseIntentMetadata(other), JSON.stringify(other)).toBeUndefined();
    }
  });
});
