/**
 * Fuzzing the flattener: every poll validation accepts, alone or in a sequence of samples of one
 * device (counters that grow, wrap, reset; agents that restart; samples late, early, repeated),
 * becomes a feature row that the feature codec writes and reads back unchanged, with no NaN or
 * negative rate; and the per-device snapshot it keeps, even read from damaged bytes, never makes
 * it throw.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  decodeFeatureRow,
  encodeFeatureRow,
  type FeatureRow,
  featureColumns,
} from '../../../src/core/features/index.ts';
import type { DevicePoll, Metric } from '../../../src/core/telemetry/index.ts';
import { flatten } from '../../../src/processors/telemetry/flatten.ts';
import {
  type DeviceSnapshot,
  decodeSnapshot,
  encodeSnapshot,
} from '../../../src/processors/telemetry/snapshot.ts';
import { type AcceptedMessage, validateMessage } from '../../../src/processors/telemetry/validate.ts';
import {
  context,
  encodeHostile,
  envelopeTsNs,
  framed,
  fuzzDevices,
  fuzzParams,
  fuzzTimeoutMs,
  hostileEnvelope,
  nowNs,
  pollArb,
  pollStatus,
  profileMetric,
  signedPoll,
  slotAt,
  uint64Max,
} from './arbitraries.ts';

vi.setConfig({ testTimeout: fuzzTimeoutMs });

const ctx = context();
const rateColumns = featureColumns.filter((c) => c.name.endsWith('_per_second')).map((c) => c.name);

/** Flattens an accepted message as the processor does (logic.ts). */
const flattenAccepted = (a: AcceptedMessage, previous: DeviceSnapshot | undefined) =>
  flatten(
    {
      poll: a.poll,
      idempotencyKey: a.idempotencyKey,
      envelopeTsNs: a.envelopeTsNs,
      signingKeyId: a.signingKeyId,
    },
    previous,
  );

/**
 * A row must reach the features topic as it is, and its rates must be numbers; rates derived from
 * valid counters are never negative (a damaged snapshot can carry any stored rate).
 */
function checkRow(row: FeatureRow, options: { derivedRates: boolean } = { derivedRates: true }): void {
  let bytes: Uint8Array;
  try {
    bytes = encodeFeatureRow(row);
  } catch (err) {
    throw new Error(`the row of an accepted poll does not encode: ${(err as Error).message}`);
  }
  const decoded = decodeFeatureRow(bytes);
  expect(decoded.ok, decoded.ok ? '' : decoded.detail).toBe(true);
  if (decoded.ok) expect(decoded.row).toEqual(row);
  const features = row.features as Record<string, unknown>;
  const rates = [
    ...rateColumns.map((name) => [name, features[name]] as const),
    ...row.extra.map((e) => [`extra ${e.name}`, e.perSecond] as const),
  ];
  for (const [name, rate] of rates) {
    if (rate === undefined) continue;
    expect(Number.isFinite(rate), `${name} rate ${rate}`).toBe(true);
    if (options.derivedRates) expect(rate as number, `${name} rate`).toBeGreaterThanOrEqual(0);
  }
}

/** Metrics the producer could have sent, at the edges of what the contract allows. */
const acceptedCandidate: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(pollArb({ metrics: profileMetric }), envelopeTsNs).map(([p, ts]) => signedPoll(p, ts)),
  fc.tuple(pollArb(), envelopeTsNs).map(([p, ts]) => signedPoll(p, ts)),
  hostileEnvelope.map((h) => framed(encodeHostile(h))),
);

describe('flatten of accepted polls', () => {
  it('gives a row that round-trips through the feature codec, with no NaN or negative rate', () => {
    fc.assert(
      fc.property(acceptedCandidate, (value) => {
        const result = validateMessage(value, ctx);
        if (!result.ok) return;
        checkRow(flattenAccepted(result, undefined).row);
      }),
      fuzzParams(1000),
    );
  });

  /** One step of a device's life between two samples. */
  const step = fc.record({
    /** Elapsed time in poll intervals: on time, late, a missed poll, a gap, the same time, earlier. */
    intervals: fc.oneof(
      { weight: 4, arbitrary: fc.constant(1) },
      { weight: 2, arbitrary: fc.constantFrom(0, 2, 3, -1, 0.01) },
      { weight: 1, arbitrary: fc.double({ min: -2, max: 5, noNaN: true }) },
    ),
    /** Counter increase per interval: none, some, a wrap's worth, a reset to 0, any value. */
    counters: fc.oneof(
      fc.constant({ kind: 'add' as const, by: 0n }),
      fc.bigInt({ min: 0n, max: 2n ** 40n }).map((by) => ({ kind: 'add' as const, by })),
      fc.constant({ kind: 'add' as const, by: 2n ** 32n - 1n }),
      fc.constant({ kind: 'reset' as const }),
      fc.bigInt({ min: 0n, max: uint64Max }).map((to) => ({ kind: 'set' as const, to })),
    ),
    uptime: fc.constantFrom('advance', 'advance', 'advance', 'restart', 'wrap'),
    redeliver: fc.boolean(),
    status: pollStatus,
  });
  type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

  const uptimeMetric = (cs: number): Metric => ({
    name: 'sys_uptime',
    value: { kind: 'numeric', value: cs },
    unit: 'centiseconds',
    oid: '1.3.6.1.2.1.1.3.0',
    labels: [],
  });

  /** The polls of one device: a first sample, then each step applied to the one before. */
  function polls(deviceId: string, intervalS: number, first: Metric[], steps: Step[]): DevicePoll[] {
    const intervalNs = BigInt(intervalS) * 1_000_000_000n;
    const start = slotAt(nowNs - 10n * intervalNs > 0n ? nowNs - 10n * intervalNs : 0n, intervalS);
    let poll: DevicePoll = {
      deviceId,
      protocol: 'snmp',
      intervalS,
      slot: start.slot,
      slotStartNs: start.slotStartNs,
      observedAtNs: start.slotStartNs + 1_000_000_000n,
      metrics: [uptimeMetric(360_000), ...first],
      status: {
        state: 'ok',
        reason: '',
        durationMs: 10,
        varbindsRequested: 1,
        varbindsReceived: 1,
        bytesCollected: 1,
      },
    };
    const out = [poll];
    for (const s of steps) {
      if (s.redeliver) {
        out.push(poll);
        continue;
      }
      const elapsedNs = BigInt(Math.round(s.intervals * intervalS * 1e9));
      const observedAtNs = poll.observedAtNs + elapsedNs;
      // Times are uint64 on the wire: a device cannot poll before 1970 or after 2554.
      if (observedAtNs < 0n || observedAtNs > uint64Max) break;
      const { slot, slotStartNs } = slotAt(observedAtNs, intervalS);
      const metrics = poll.metrics.map((m): Metric => {
        const v = m.value;
        if (v.kind === 'counter') {
          const next =
            s.counters.kind === 'reset'
              ? 0n
              : s.counters.kind === 'set'
                ? s.counters.to
                : v.value + s.counters.by * BigInt(Math.max(0, Math.round(s.intervals)));
          return { ...m, value: { ...v, value: BigInt.asUintN(v.bits, next) } };
        }
        if (m.name === 'sys_uptime' && v.kind === 'numeric' && Number.isFinite(v.value)) {
          const cs = v.value + Number(elapsedNs / 10_000_000n);
          const value = s.uptime === 'restart' ? 100 : s.uptime === 'wrap' ? cs % 2 ** 32 : cs;
          return uptimeMetric(value);
        }
        return m;
      });
      poll = { ...poll, slot, slotStartNs, observedAtNs, metrics, status: s.status };
      out.push(poll);
    }
    return out;
  }

  it('keeps every row of a device sequence encodable and its rates numbers, through snapshot bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fuzzDevices),
        fc.constantFrom(10, 60, 300, 86_400, 0xffff_ffff),
        fc.array(profileMetric, { maxLength: 10 }),
        fc.array(step, { minLength: 1, maxLength: 5 }),
        (deviceId, intervalS, first, steps) => {
          let snapshotBytes: Uint8Array | undefined;
          for (const poll of polls(deviceId, intervalS, first, steps)) {
            const result = validateMessage(signedPoll(poll, nowNs), ctx);
            if (!result.ok) continue;
            // As the processor does: the previous snapshot comes back as bytes.
            const previous = snapshotBytes === undefined ? undefined : decodeSnapshot(snapshotBytes);
            if (previous !== undefined) expect(previous.ok).toBe(true);
            const { row, next } = flattenAccepted(result, previous?.ok ? previous.snapshot : undefined);
            checkRow(row);
            snapshotBytes = encodeSnapshot(next);
            const again = decodeSnapshot(snapshotBytes);
            expect(again.ok).toBe(true);
            if (again.ok) expect(encodeSnapshot(again.snapshot)).toEqual(snapshotBytes);
          }
        },
      ),
      fuzzParams(300),
    );
  });
});

describe('the snapshot flatten keeps per device', () => {
  /** Snapshot bytes of a real sequence, to damage. */
  const snapshotBytes = (() => {
    const metrics: Metric[] = [
      {
        name: 'sys_uptime',
        value: { kind: 'numeric', value: 1000 },
        unit: 'centiseconds',
        oid: '1',
        labels: [],
      },
      {
        name: 'cpu_raw_user',
        value: { kind: 'counter', value: 5n, bits: 32 },
        unit: 'ticks',
        oid: '2',
        labels: [],
      },
      {
        name: 'if_hc_in_octets',
        value: { kind: 'counter', value: uint64Max, bits: 64 },
        unit: 'bytes',
        oid: '3',
        labels: [{ key: 'ifIndex', value: '2' }],
      },
    ];
    const { slot, slotStartNs } = slotAt(nowNs, 60);
    const poll: DevicePoll = {
      deviceId: fuzzDevices[0],
      protocol: 'snmp',
      intervalS: 60,
      slot,
      slotStartNs,
      observedAtNs: slotStartNs + 1n,
      metrics,
      status: {
        state: 'ok',
        reason: '',
        durationMs: 1,
        varbindsRequested: 3,
        varbindsReceived: 3,
        bytesCollected: 9,
      },
    };
    const later: DevicePoll = {
      ...poll,
      slot: slot + 1n,
      slotStartNs: slotStartNs + 60_000_000_000n,
      observedAtNs: poll.observedAtNs + 60_000_000_000n,
      metrics: [
        { ...(metrics[0] as Metric), value: { kind: 'numeric', value: 7000 } },
        { ...(metrics[1] as Metric), value: { kind: 'counter', value: 4005n, bits: 32 } },
        { ...(metrics[2] as Metric), value: { kind: 'counter', value: 12_345n, bits: 64 } },
      ],
    };
    const accepted = (p: DevicePoll): AcceptedMessage => {
      const result = validateMessage(signedPoll(p, nowNs), ctx);
      if (!result.ok) throw new Error(result.detail);
      return result;
    };
    const last = accepted(poll);
    return { last, next: accepted(later), bytes: encodeSnapshot(flattenAccepted(last, undefined).next) };
  })();

  /** JSON values to put anywhere in a snapshot. */
  const jsonish = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('99999999999999999999999', '-1', '1e3', '18446744073709551616', 1e308, -1, null),
  );

  it('reads damaged snapshot bytes as a snapshot or a failure, and flatten takes whatever it reads', () => {
    const text = new TextDecoder().decode(snapshotBytes.bytes);
    const damaged = fc.oneof(
      // Byte-level damage.
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([at, byte, cut]) => {
        const b = Uint8Array.from(snapshotBytes.bytes);
        b[at % b.length] = byte;
        return b.subarray(0, b.length - (cut % 4));
      }),
      // A value of the JSON replaced, at the top level or inside a series.
      fc
        .tuple(fc.constantFrom('v', 'device', 'key', 't', 'rs', 'pt', 'up', 's'), jsonish)
        .map(([k, v]) => new TextEncoder().encode(JSON.stringify({ ...JSON.parse(text), [k]: v }))),
      fc.tuple(fc.nat(), fc.nat(5), jsonish).map(([i, j, v]) => {
        const json = JSON.parse(text);
        const series = json.s[i % json.s.length];
        series[j] = v;
        return new TextEncoder().encode(JSON.stringify(json));
      }),
    );
    fc.assert(
      fc.property(damaged, (bytes) => {
        const decoded = decodeSnapshot(bytes);
        if (!decoded.ok) {
          expect(decoded.detail).not.toBe('');
          return;
        }
        // A redelivery of the last poll of the device, and its next poll, against what was read.
        checkRow(flattenAccepted(snapshotBytes.last, decoded.snapshot).row, { derivedRates: false });
        checkRow(flattenAccepted(snapshotBytes.next, decoded.snapshot).row, { derivedRates: false });
      }),
      fuzzParams(1000),
    );
  });
});
