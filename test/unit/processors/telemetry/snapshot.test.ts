/**
 * Device snapshots: the byte form round-trips exactly (bigints above 2^53 included), equal
 * snapshots are equal bytes, the size follows the device, and bad bytes are reported, not thrown.
 */
import { describe, expect, it } from 'vitest';
import { RateState } from '../../../../src/core/features/index.ts';
import { flatten } from '../../../../src/processors/telemetry/flatten.ts';
import {
  type DeviceSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  seriesKey,
} from '../../../../src/processors/telemetry/snapshot.ts';
import { advance, inputOf, pollOf, recordedMetrics, second } from './polls.ts';

const roundTrip = (s: DeviceSnapshot): DeviceSnapshot => {
  const decoded = decodeSnapshot(encodeSnapshot(s));
  if (!decoded.ok) throw new Error(decoded.detail);
  return decoded.snapshot;
};

const sample: DeviceSnapshot = {
  deviceId: 'router-1/unit "2"',
  idempotencyKey: 'router-1/unit "2"/60/29932440',
  observedAtNs: 1_795_946_402_345_678_901n,
  rateState: RateState.Ok,
  previousObservedAtNs: 1_795_946_342_345_678_901n,
  uptime: { centiseconds: 4_294_967_295, observedAtNs: 1_795_946_402_345_678_901n, pollDurationMs: 12.75 },
  series: new Map([
    [
      seriesKey('if_hc_in_octets', [
        { key: 'ifIndex', value: '4' },
        { key: 'ifDescr', value: 'eth0 "uplink"' },
      ]),
      {
        name: 'if_hc_in_octets',
        labels: [
          { key: 'ifIndex', value: '4' },
          { key: 'ifDescr', value: 'eth0 "uplink"' },
        ],
        value: 2n ** 64n - 1n,
        bits: 64 as const,
        observedAtNs: 1_795_946_402_345_678_901n,
        perSecond: 123_456.789,
      },
    ],
    [
      seriesKey('cpu_raw_user', []),
      {
        name: 'cpu_raw_user',
        labels: [],
        value: 4_294_967_295n,
        bits: 32 as const,
        observedAtNs: 1_795_946_342_345_678_901n,
        perSecond: undefined,
      },
    ],
  ]),
};

describe('encodeSnapshot / decodeSnapshot', () => {
  it('round-trips every field exactly', () => {
    expect(roundTrip(sample)).toEqual(sample);
    const bare: DeviceSnapshot = {
      ...sample,
      previousObservedAtNs: undefined,
      uptime: undefined,
      series: new Map(),
    };
    expect(roundTrip(bare)).toEqual(bare);
  });

  it('writes equal bytes for equal snapshots, whatever the insertion order of the series', () => {
    const reversed = { ...sample, series: new Map([...sample.series].reverse()) };
    expect(Buffer.from(encodeSnapshot(reversed))).toEqual(Buffer.from(encodeSnapshot(sample)));
  });

  it('stays small: a real device is about 1 KB', async () => {
    const metrics = await recordedMetrics();
    const first = flatten(inputOf(pollOf(metrics)), undefined);
    const next = flatten(
      inputOf(
        pollOf(
          advance(metrics, 60, () => 10),
          { slotIndex: 1 },
        ),
      ),
      first.next,
    ).next;
    const bytes = encodeSnapshot(next);
    // 21 counter series (5 CPU, 4 columns × 4 interfaces) with their rates.
    expect(next.series.size).toBe(21);
    expect(bytes.length).toBeLessThan(2000);
    expect(roundTrip(next)).toEqual(next);
  });

  it.each([
    ['not JSON', '{'],
    ['another version', '{"v":2}'],
    [
      'a bigint that is not a decimal string',
      JSON.stringify({ v: 1, device: 'd', key: 'k', t: '1e3', rs: 'ok', pt: null, up: null, s: [] }),
    ],
    [
      'an unknown rate state',
      JSON.stringify({ v: 1, device: 'd', key: 'k', t: '1', rs: 'maybe', pt: null, up: null, s: [] }),
    ],
    [
      'odd labels',
      JSON.stringify({
        v: 1,
        device: 'd',
        key: 'k',
        t: '1',
        rs: 'ok',
        pt: null,
        up: null,
        s: [['n', ['k'], '1', 32, null, null]],
      }),
    ],
    [
      'a counter width of 16',
      JSON.stringify({
        v: 1,
        device: 'd',
        key: 'k',
        t: '1',
        rs: 'ok',
        pt: null,
        up: null,
        s: [['n', [], '1', 16, null, null]],
      }),
    ],
  ])('reports %s without throwing', (_, text) => {
    const decoded = decodeSnapshot(new TextEncoder().encode(text));
    expect(decoded.ok).toBe(false);
  });

  it('reports bytes that are not UTF-8', () => {
    expect(decodeSnapshot(Uint8Array.of(0xff, 0xfe))).toMatchObject({ ok: false });
  });

  it('keeps the series time only when it differs from the snapshot time', () => {
    const text = new TextDecoder().decode(encodeSnapshot(sample));
    expect(text).toContain(`"${sample.observedAtNs - 60n * second}"`);
    expect(text.match(/"1795946402345678901"/g)).toHaveLength(2); // t and the uptime reading
  });
});
