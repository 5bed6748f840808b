/**
 * The inputs the fuzz tests found bugs with, as fixed examples: each failed before its fix (a
 * crash loop of the processor, a duplicate that deduplication could not see, or a device whose
 * every poll was refused) and must keep passing whatever the random seeds of the properties.
 */
import { describe, expect, it } from 'vitest';
import { buildSignedEnvelope, decodeEnvelope, toDevicePoll } from '../../../src/core/envelope/index.ts';
import { encodeFeatureRow } from '../../../src/core/features/index.ts';
import type { DevicePoll, Metric } from '../../../src/core/telemetry/index.ts';
import { flatten } from '../../../src/processors/telemetry/flatten.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../src/processors/telemetry/snapshot.ts';
import { RejectReason } from '../../../src/processors/telemetry/types.ts';
import { validateMessage } from '../../../src/processors/telemetry/validate.ts';
import {
  context,
  encodeHostile,
  framed,
  fuzzDevices,
  nowNs,
  signedPoll,
  signers,
  slotAt,
  uint64Max,
} from './arbitraries.ts';

const ctx = context();

const poll = (overrides: Partial<DevicePoll> = {}): DevicePoll => {
  const { slot, slotStartNs } = slotAt(nowNs, 60);
  return {
    deviceId: fuzzDevices[0],
    protocol: 'snmp',
    intervalS: 60,
    slot,
    slotStartNs,
    observedAtNs: slotStartNs + 1_000_000_000n,
    metrics: [],
    status: {
      state: 'ok',
      reason: '',
      durationMs: 5,
      varbindsRequested: 0,
      varbindsReceived: 0,
      bytesCollected: 0,
    },
    ...overrides,
  };
};

const disk = (name: 'disk_total' | 'disk_avail', index: number, kb: number): Metric => ({
  name,
  value: { kind: 'numeric', value: kb },
  unit: 'kilobytes',
  oid: `1.3.6.1.4.1.2021.9.1.6.${index}`,
  labels: [
    { key: 'dskIndex', value: String(index) },
    { key: 'dskPath', value: `/d${index}` },
  ],
});

describe('bugs the fuzz tests found', () => {
  it('an interval above 2^32-1 s is invalid_values (it passed, then the feature row could not be encoded)', () => {
    const huge = poll({ intervalS: 2 ** 33, slot: 0n, slotStartNs: 0n, observedAtNs: 1n });
    expect(validateMessage(signedPoll(huge, nowNs), ctx)).toMatchObject({
      ok: false,
      reason: RejectReason.InvalidValues,
    });
    const largest = poll({ intervalS: 0xffff_ffff, slot: 0n, slotStartNs: 0n, observedAtNs: 1n });
    expect(validateMessage(signedPoll(largest, nowNs), ctx).ok).toBe(true);
  });

  it('bytes_collected of 2^53 or more is invalid_values (it passed, then the row could not be encoded)', () => {
    for (const [value, ok] of [
      [2n ** 53n - 1n, true],
      [2n ** 53n, false],
      [uint64Max, false],
    ] as const) {
      const bytes = encodeHostile({
        poll: poll(),
        tweaks: [{ kind: 'bytesCollected', value }],
        topLevel: [],
        inTelemetry: [],
        tsNs: nowNs,
      });
      expect(validateMessage(framed(bytes), ctx).ok, String(value)).toBe(ok);
    }
  });

  it('an idempotency key with a leading zero is invalid_values (it named an accepted slot under a second key)', () => {
    const p = poll();
    const value = encodeHostile({
      poll: p,
      tweaks: [{ kind: 'idempotencyKey', value: `${p.deviceId}/060/${p.slot}` }],
      topLevel: [],
      inTelemetry: [],
      tsNs: nowNs,
    });
    expect(validateMessage(framed(value), ctx)).toMatchObject({
      ok: false,
      reason: RejectReason.InvalidValues,
    });
  });

  it('a device id with a line break decodes to its poll (every poll of such a device was refused)', () => {
    const p = poll({ deviceId: 'rack-4\nrouter-1' });
    const decoded = decodeEnvelope(buildSignedEnvelope(p, signers.main, nowNs));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(toDevicePoll(decoded.envelope)).toEqual({ ok: true, poll: p });
  });

  it('a disk sum beyond the largest double leaves the column absent (it was Infinity: the row did not encode)', () => {
    const p = poll({
      metrics: [disk('disk_total', 1, Number.MAX_VALUE), disk('disk_total', 2, Number.MAX_VALUE)],
    });
    const input = {
      poll: p,
      idempotencyKey: `${p.deviceId}/60/${p.slot}`,
      envelopeTsNs: nowNs,
      signingKeyId: 'k',
    };
    const { row } = flatten(input, undefined);
    expect(row.features).not.toHaveProperty('disk_total');
    expect(row.extra.map((e) => e.name)).toEqual(['disk_total', 'disk_total']);
    expect(() => encodeFeatureRow(row)).not.toThrow();
  });

  it('a snapshot with a time beyond 2^64-1, or a version that is not a primitive, is a failure, not a throw', () => {
    const p = poll();
    const input = {
      poll: p,
      idempotencyKey: `${p.deviceId}/60/${p.slot}`,
      envelopeTsNs: nowNs,
      signingKeyId: 'k',
    };
    const json = JSON.parse(new TextDecoder().decode(encodeSnapshot(flatten(input, undefined).next)));
    const bytes = (changes: Record<string, unknown>) =>
      new TextEncoder().encode(JSON.stringify({ ...json, ...changes }));
    // A redelivery against the first would have put 10^23 into previous_observed_at_ns.
    expect(decodeSnapshot(bytes({ pt: '99999999999999999999999' })).ok).toBe(false);
    expect(decodeSnapshot(bytes({ pt: uint64Max.toString() })).ok).toBe(true);
    expect(decodeSnapshot(bytes({ v: [{ toString: '' }] })).ok).toBe(false);
  });
});
