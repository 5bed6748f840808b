/**
 * flatten(): counter rates per series (32-bit wrap, 64-bit reset, agent restart, first sample,
 * out of order, redelivery, gap), the named columns of a real poll (the recorded snmpd walk), and
 * the row keeping every collected value exactly once (named column or `extra`).
 */
import { describe, expect, it } from 'vitest';
import { featureColumns, RateState } from '../../../../src/core/features/index.ts';
import type { DevicePoll, Metric } from '../../../../src/core/telemetry/index.ts';
import {
  agentRestarted,
  counterRate,
  type FlattenResult,
  flatten,
  flattenDefaults,
} from '../../../../src/processors/telemetry/flatten.ts';
import {
  type DeviceSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  seriesKey,
} from '../../../../src/processors/telemetry/snapshot.ts';
import {
  advance,
  counter32,
  counter64,
  cpuUser,
  ifIn,
  inputOf,
  metric,
  numeric,
  pollOf,
  recordedMetrics,
  second,
  uptime,
} from './polls.ts';

/** Polls `metricsList[k]` at slot k (60 s apart), feeding each result's snapshot into the next. */
function run(polls: DevicePoll[], start?: DeviceSnapshot): FlattenResult[] {
  const out: FlattenResult[] = [];
  let snapshot = start;
  for (const p of polls) {
    const result = flatten(inputOf(p), snapshot);
    out.push(result);
    snapshot = result.next;
  }
  return out;
}

const last = <T>(list: T[]): T => list[list.length - 1] as T;

/** Two polls 10 s apart (same slot length 10 s). */
function pair(first: Metric[], secondMetrics: Metric[], gapS = 10): DevicePoll[] {
  return [
    pollOf(first, { intervalS: 10, slotIndex: 0 }),
    pollOf(secondMetrics, { intervalS: 10, slotIndex: gapS / 10 }),
  ];
}

describe('counter rates', () => {
  it('the first sample has no rate and rate state first_sample', () => {
    const [r] = run([pollOf([uptime(1000), cpuUser(500)])]);
    expect(r?.row.rateState).toBe(RateState.FirstSample);
    expect(r?.row.previousObservedAtNs).toBeUndefined();
    expect(r?.row.features.cpu_raw_user).toBe(500n);
    expect(r?.row.features).not.toHaveProperty('cpu_raw_user_per_second');
  });

  it('derives increase / seconds between the observed times', () => {
    const results = run(pair([uptime(1000), cpuUser(500)], [uptime(2000), cpuUser(1500)]));
    const { row } = last(results);
    expect(row.rateState).toBe(RateState.Ok);
    expect(row.previousObservedAtNs).toBe(results[0]?.row.observedAtNs);
    expect(row.features.cpu_raw_user_per_second).toBe(100);
  });

  it('a Counter32 that wraps (4294967000 -> 200 over 10 s) gives the wrapped increase', () => {
    const { row } = last(run(pair([uptime(1000), cpuUser(4_294_967_000)], [uptime(2000), cpuUser(200)])));
    expect(row.rateState).toBe(RateState.Ok);
    // 2^32 - 4294967000 + 200 = 496 ticks in 10 s
    expect(row.features.cpu_raw_user_per_second).toBe(49.6);
    expect(row.features.cpu_raw_user).toBe(200n);
  });

  it('a Counter32 that falls far below its previous value is a reset, not a wrap', () => {
    const { row, next } = last(run(pair([uptime(1000), cpuUser(1_000_000)], [uptime(2000), cpuUser(10)])));
    expect(row.rateState).toBe(RateState.Ok);
    expect(row.features).not.toHaveProperty('cpu_raw_user_per_second');
    // The series continues from the new value: the next sample has a rate again.
    const after = flatten(
      inputOf(pollOf([uptime(3000), cpuUser(60)], { intervalS: 10, slotIndex: 2 })),
      next,
    );
    expect(after.row.features.cpu_raw_user_per_second).toBe(5);
  });

  it('a Counter64 that decreases is a reset: no rate, the series restarts', () => {
    const start = 2n ** 64n - 100n;
    const results = run([
      pollOf([uptime(1000), ifIn(1, start)], { intervalS: 10, slotIndex: 0 }),
      pollOf([uptime(2000), ifIn(1, 50n)], { intervalS: 10, slotIndex: 1 }),
      pollOf([uptime(3000), ifIn(1, 1050n)], { intervalS: 10, slotIndex: 2 }),
    ]);
    expect(results[1]?.row.extra[0]?.perSecond).toBeUndefined();
    expect(results[1]?.row.features).not.toHaveProperty('if_hc_in_octets_per_second');
    expect(results[2]?.row.extra[0]?.perSecond).toBe(100);
    expect(results[2]?.row.features.if_hc_in_octets_per_second).toBe(100);
  });

  it('Counter64 values above 2^53 stay exact in the row and the rate is right', () => {
    const base = 2n ** 60n + 1n;
    const { row } = last(run(pair([ifIn(1, base)], [ifIn(1, base + 1_250_000_000n)])));
    expect(row.features.if_hc_in_octets).toBe(base + 1_250_000_000n);
    expect(row.features.if_hc_in_octets_per_second).toBe(125_000_000);
  });

  it('a sysUpTime decrease is an agent restart: no rates at all, series start again', () => {
    const results = run([
      pollOf([uptime(500_000), cpuUser(1000), ifIn(1, 5000)], { intervalS: 10, slotIndex: 0 }),
      // Counters grew (kernel counters survive an snmpd restart), but the agent restarted.
      pollOf([uptime(300), cpuUser(2000), ifIn(1, 9000)], { intervalS: 10, slotIndex: 1 }),
      pollOf([uptime(1300), cpuUser(3000), ifIn(1, 19000)], { intervalS: 10, slotIndex: 2 }),
    ]);
    const restarted = results[1]?.row;
    expect(restarted?.rateState).toBe(RateState.AgentRestart);
    expect(restarted?.previousObservedAtNs).toBeUndefined();
    expect(restarted?.features).not.toHaveProperty('cpu_raw_user_per_second');
    expect(restarted?.extra.every((e) => e.perSecond === undefined)).toBe(true);
    expect(results[2]?.row.rateState).toBe(RateState.Ok);
    expect(results[2]?.row.features.cpu_raw_user_per_second).toBe(100);
    expect(results[2]?.row.features.if_hc_in_octets_per_second).toBe(1000);
  });

  it('a restart hidden between samples (sysUpTime grew less than the clock) is a restart too', () => {
    // 10 s passed, but sysUpTime only advanced 2 s: the agent restarted 2 s + (old uptime) ago.
    const results = run(pair([uptime(100), cpuUser(1000)], [uptime(300), cpuUser(2000)]));
    expect(last(results).row.rateState).toBe(RateState.AgentRestart);
  });

  it('sysUpTime wrapping at 2^32 with the clock is not a restart', () => {
    const before = 2 ** 32 - 400; // 4 s before the wrap
    const results = run(pair([uptime(before), cpuUser(1000)], [uptime(600), cpuUser(2000)]));
    expect(last(results).row.rateState).toBe(RateState.Ok);
    expect(last(results).row.features.cpu_raw_user_per_second).toBe(100);
  });

  it('agentRestarted tolerates the poll duration and 1 % of the elapsed time, no more', () => {
    const at = (cs: number, s: number, durationMs = 0) => ({
      centiseconds: cs,
      observedAtNs: BigInt(s) * second,
      pollDurationMs: durationMs,
    });
    expect(agentRestarted(at(0, 0), at(6000, 60))).toBe(false);
    expect(agentRestarted(at(0, 0), at(6000 - 150, 60))).toBe(false); // 1.5 s < 1 s + 0.6 s
    expect(agentRestarted(at(0, 0), at(6000 - 170, 60))).toBe(true);
    expect(agentRestarted(at(0, 0, 5000), at(6000 - 600, 60, 100))).toBe(false);
    expect(agentRestarted(at(0, 0), at(6000 + 170, 60))).toBe(true); // ran ahead of the clock
  });

  it('a gap longer than maxGapIntervals intervals gives no rate; one missed poll still does', () => {
    const onceMissed = run(pair([uptime(0), cpuUser(0)], [uptime(2000), cpuUser(2000)], 20));
    expect(last(onceMissed).row.rateState).toBe(RateState.Ok);
    expect(last(onceMissed).row.features.cpu_raw_user_per_second).toBe(100);

    const long = run(pair([uptime(0), cpuUser(0)], [uptime(3000), cpuUser(3000)], 30));
    expect(last(long).row.rateState).toBe(RateState.Gap);
    expect(last(long).row.features).not.toHaveProperty('cpu_raw_user_per_second');
    expect(last(long).next.series.get(seriesKey('cpu_raw_user', []))?.value).toBe(3000n);
    expect(flattenDefaults.maxGapIntervals).toBe(2.5);
  });

  it('a series missing from one sample gets its rate over its own longer window, within the limit', () => {
    const results = run([
      pollOf([uptime(0), ifIn(1, 0), ifIn(2, 0)], { intervalS: 10, slotIndex: 0 }),
      pollOf([uptime(1000), ifIn(1, 1000)], { intervalS: 10, slotIndex: 1 }),
      pollOf([uptime(2000), ifIn(1, 2000), ifIn(2, 4000)], { intervalS: 10, slotIndex: 2 }),
    ]);
    const rates = last(results).row.extra.map((e) => e.perSecond);
    expect(rates).toEqual([100, 200]); // eth2 over 20 s
    expect(last(results).row.features.if_hc_in_octets_per_second).toBe(300);
  });

  it('series not seen within the gap limit leave the snapshot', () => {
    const results = run([
      pollOf([ifIn(1, 0), ifIn(2, 0)], { intervalS: 10, slotIndex: 0 }),
      pollOf([ifIn(1, 10)], { intervalS: 10, slotIndex: 1 }),
      pollOf([ifIn(1, 20)], { intervalS: 10, slotIndex: 2 }),
      pollOf([ifIn(1, 30)], { intervalS: 10, slotIndex: 3 }),
    ]);
    expect(results[2]?.next.series.size).toBe(2);
    expect(results[3]?.next.series.size).toBe(1);
  });

  it('an interface without a rate (new) leaves the summed rate absent, not understated', () => {
    const { row } = last(run(pair([ifIn(1, 0)], [ifIn(1, 1000), ifIn(2, 5)])));
    expect(row.extra.map((e) => e.perSecond)).toEqual([100, undefined]);
    expect(row.features).not.toHaveProperty('if_hc_in_octets_per_second');
    expect(row.features.if_hc_in_octets).toBe(1005n);
  });

  it('an out-of-order sample has no rates and does not move the snapshot backwards', () => {
    const [a, b] = run(pair([uptime(0), cpuUser(0)], [uptime(1000), cpuUser(1000)]));
    const older = pollOf([uptime(500), cpuUser(400)], { intervalS: 10, slotIndex: 0, offsetNs: 4n * second });
    const late = flatten(inputOf(older), b?.next);
    expect(late.row.rateState).toBe(RateState.OutOfOrder);
    expect(late.row.features).not.toHaveProperty('cpu_raw_user_per_second');
    expect(late.row.features.cpu_raw_user).toBe(400n);
    expect(late.next).toBe(b?.next);
    expect(a?.row.rateState).toBe(RateState.FirstSample);
  });

  it('another sample at the same observed time (different key) is out of order', () => {
    const [a] = run([pollOf([cpuUser(0)], { intervalS: 10 })]);
    const other = {
      ...inputOf(pollOf([cpuUser(5)], { intervalS: 10 })),
      idempotencyKey: 'router-1/10/other',
    };
    const r = flatten(other, a?.next);
    expect(r.row.rateState).toBe(RateState.OutOfOrder);
    expect(r.next).toBe(a?.next);
  });

  it('a redelivery of the latest sample reproduces its row exactly and keeps the snapshot', () => {
    const polls = pair([uptime(0), cpuUser(0), ifIn(1, 0)], [uptime(1000), cpuUser(1000), ifIn(1, 7)]);
    const [, b] = run(polls);
    const again = flatten(inputOf(polls[1] as DevicePoll), b?.next);
    expect(again.row).toEqual(b?.row);
    expect(again.row.features.cpu_raw_user_per_second).toBe(100);
    expect(again.next).toBe(b?.next);
    // Also after the snapshot went through its byte form (the changelog).
    const restored = decodeSnapshot(encodeSnapshot(b?.next as DeviceSnapshot));
    if (!restored.ok) throw new Error(restored.detail);
    expect(flatten(inputOf(polls[1] as DevicePoll), restored.snapshot).row).toEqual(b?.row);
  });

  it('is deterministic: the same input and snapshot give equal rows and snapshots', () => {
    const polls = pair([uptime(0), cpuUser(0), ifIn(1, 0)], [uptime(1000), cpuUser(1000), ifIn(1, 7)]);
    const [a] = run(polls);
    const one = flatten(inputOf(polls[1] as DevicePoll), a?.next);
    const two = flatten(inputOf(polls[1] as DevicePoll), a?.next);
    expect(one).toEqual(two);
    expect(encodeSnapshot(one.next)).toEqual(encodeSnapshot(two.next));
  });

  it('never mutates the previous snapshot', () => {
    const [a] = run([pollOf([cpuUser(0), ifIn(1, 0)], { intervalS: 10 })]);
    const before = Buffer.from(encodeSnapshot(a?.next as DeviceSnapshot));
    flatten(inputOf(pollOf([cpuUser(10), ifIn(2, 0)], { intervalS: 10, slotIndex: 1 })), a?.next);
    expect(Buffer.from(encodeSnapshot(a?.next as DeviceSnapshot))).toEqual(before);
  });

  it('a snapshot of another device is ignored (first sample)', () => {
    const [a] = run([pollOf([cpuUser(0)], { intervalS: 10, deviceId: 'other' })]);
    const r = flatten(inputOf(pollOf([cpuUser(10)], { intervalS: 10, slotIndex: 1 })), a?.next);
    expect(r.row.rateState).toBe(RateState.FirstSample);
    expect(r.next.deviceId).toBe('router-1');
  });

  it('refuses options that cannot bound a gap', () => {
    const input = inputOf(pollOf([cpuUser(0)]));
    expect(() => flatten(input, undefined, { maxGapIntervals: 0 })).toThrow(RangeError);
    expect(() => flatten(input, undefined, { maxGapIntervals: Number.NaN })).toThrow(RangeError);
  });

  it('counterRate refuses a width change, out-of-range values and time not moving forward', () => {
    const at = (value: bigint, bits: 32 | 64, s: number) => ({
      value,
      bits,
      observedAtNs: BigInt(s) * second,
    });
    const gap = 100n * second;
    expect(counterRate(at(0n, 32, 0), at(10n, 64, 10), gap)).toBeUndefined();
    expect(counterRate(at(0n, 32, 0), at(2n ** 32n, 32, 10), gap)).toBeUndefined();
    expect(counterRate(at(0n, 32, 10), at(10n, 32, 10), gap)).toBeUndefined();
    expect(counterRate(at(0n, 32, 0), at(10n, 32, 101), gap)).toBeUndefined();
    expect(counterRate(at(0n, 32, 0), at(10n, 32, 100), gap)).toBe(0.1);
  });
});

describe('named columns of a real poll (recorded snmpd 5.9.3 walk)', () => {
  it('fills all 29 features and, for the second sample, all 9 rates', async () => {
    const metrics = await recordedMetrics();
    const secondMetrics = advance(metrics, 60, (m) => (m.name.startsWith('cpu_raw') ? 50 : 1000));
    const [first, next] = run([pollOf(metrics), pollOf(secondMetrics, { slotIndex: 1 })]);
    const f = first?.row.features ?? {};
    expect(Object.keys(f).sort()).toEqual(
      featureColumns
        .filter((c) => !c.name.endsWith('_per_second'))
        .map((c) => c.name)
        .sort(),
    );
    expect(f).toMatchObject({
      sys_name: 'amoskys-local-snmpd',
      sys_uptime: 77768,
      cpu_raw_user: 92873n,
      load_avg_1min: 0.41,
      mem_total_real: 24683652,
      mem_total_swap: 0,
      // dskTable: one row ("/")
      disk_total: 264212084,
      disk_avail: 80867476,
      // hrStorageTable filesystem rows 31 "/", 35 "/dev/shm", 38 "/sys/fs/cgroup" (4 KiB units);
      // the memory rows 1..11 are left to mem_* and extra.
      storage_allocation_units: 4096,
      storage_size: (66053021 + 6170913 + 3085456) * 4096,
      storage_used: 3658447 * 4096,
      // lo + ifb0 + ifb1 + eth0
      if_hc_in_octets: 18628210n + 2014605276n,
      if_hc_out_octets: 18628210n + 4984897n,
      if_in_errors: 0n,
      if_out_errors: 0n,
      // lo and eth0 up, ifb0 and ifb1 down
      if_oper_status: 2,
    });

    const rates = next?.row.features ?? {};
    expect(next?.row.rateState).toBe(RateState.Ok);
    for (const c of featureColumns.filter(
      (x) => x.name.startsWith('cpu_raw') && x.name.endsWith('_per_second'),
    )) {
      expect(rates[c.name], c.name).toBe(50);
    }
    // 4 interfaces × 1000 bytes/s
    expect(rates.if_hc_in_octets_per_second).toBe(4000);
    expect(rates.if_hc_out_octets_per_second).toBe(4000);
    expect(rates.if_in_errors_per_second).toBe(4000);
    expect(rates.if_out_errors_per_second).toBe(4000);
  });

  it('keeps every value exactly once: 19 scalars in named columns, the 52 others in extra', async () => {
    const metrics = await recordedMetrics();
    const { row } = flatten(inputOf(pollOf(metrics)), undefined);
    expect(metrics).toHaveLength(71);
    expect(row.extra).toHaveLength(52);
    const scalarColumns = featureColumns.filter((c) => c.aggregation === 'value');
    expect(scalarColumns).toHaveLength(19);
    // Rebuild the poll's metrics from the row: named scalars + extra, in poll order.
    const fromExtra = row.extra.map(
      (e) =>
        `${e.name}|${JSON.stringify(e.labels)}|${String(e.value.kind === 'unknown' ? '' : e.value.value)}`,
    );
    const fromColumns = scalarColumns.map((c) => `${c.source}|[]|${String(row.features[c.name])}`);
    const all = metrics.map((m) => `${m.name}|${JSON.stringify(m.labels)}|${String(m.value.value)}`);
    expect([...fromColumns, ...fromExtra].sort()).toEqual(all.sort());
    // Extra keeps unit, OID and counter width.
    expect(row.extra.find((e) => e.name === 'if_hc_in_octets')).toMatchObject({
      unit: 'bytes',
      oid: '1.3.6.1.2.1.31.1.1.1.6.1',
      value: { kind: 'counter', bits: 64 },
    });
  });

  it('copies the header and poll status', async () => {
    const poll = pollOf(await recordedMetrics());
    const input = inputOf(poll);
    const { row } = flatten(input, undefined);
    expect(row).toMatchObject({
      deviceId: 'router-1',
      idempotencyKey: input.idempotencyKey,
      slotStartNs: poll.slotStartNs,
      observedAtNs: poll.observedAtNs,
      envelopeTsNs: input.envelopeTsNs,
      signingKeyId: 'fixture-key-1',
      intervalS: 60,
      pollState: 'ok',
      pollReason: '',
      pollDurationMs: 13,
      pollVarbindsRequested: 103,
      pollVarbindsReceived: 103,
      pollBytesCollected: 2412,
    });
  });
});

describe('values a column cannot hold', () => {
  it('an unreachable poll is a row with a status and no features', () => {
    const poll = pollOf([]);
    poll.status = {
      ...poll.status,
      state: 'unreachable',
      reason: 'timeout',
      varbindsReceived: 0,
      bytesCollected: 0,
    };
    const { row, next } = flatten(inputOf(poll), undefined);
    expect(row.pollState).toBe('unreachable');
    expect(row.features).toEqual({});
    expect(row.extra).toEqual([]);
    expect(next.series.size).toBe(0);
  });

  it('an unreachable poll in between keeps the series and the uptime reading', () => {
    const down = pollOf([], { intervalS: 10, slotIndex: 1 });
    down.status = { ...down.status, state: 'unreachable' };
    const results = run([
      pollOf([uptime(0), cpuUser(0)], { intervalS: 10, slotIndex: 0 }),
      down,
      pollOf([uptime(2000), cpuUser(2000)], { intervalS: 10, slotIndex: 2 }),
    ]);
    expect(results[1]?.next.series.size).toBe(1);
    expect(last(results).row.rateState).toBe(RateState.Ok);
    expect(last(results).row.features.cpu_raw_user_per_second).toBe(100);
  });

  it('values of another kind, unit, width or with labels go to extra, not to a column', () => {
    const odd = [
      metric('cpu_raw_user', counter64(5), 'ticks'),
      metric('mem_total_real', numeric(1), 'bytes'),
      metric('sys_name', numeric(3)),
      metric('load_avg_1min', numeric(0.5), '', [{ key: 'x', value: '1' }]),
      metric('custom_counter', counter32(9), 'things'),
      metric('mem_buffer', numeric(Number.NaN), 'kilobytes'),
    ];
    const { row } = flatten(inputOf(pollOf(odd)), undefined);
    expect(row.features).toEqual({});
    expect(row.extra.map((e) => e.name)).toEqual(odd.map((m) => m.name));
  });

  it('a duplicated scalar fills its column once and keeps the second value in extra', () => {
    const { row } = flatten(inputOf(pollOf([uptime(5), uptime(6)])), undefined);
    expect(row.features.sys_uptime).toBe(5);
    expect(row.extra.map((e) => e.value)).toEqual([numeric(6)]);
  });

  it('storage bytes are absent when a filesystem row has no allocation unit', () => {
    const fs = [
      { key: 'hrStorageIndex', value: '31' },
      { key: 'hrStorageDescr', value: '/' },
    ];
    const { row } = flatten(
      inputOf(pollOf([metric('storage_size', numeric(10), 'allocation_units', fs)])),
      undefined,
    );
    expect(row.features).not.toHaveProperty('storage_size');
    expect(row.features).not.toHaveProperty('storage_allocation_units');
  });

  it('counter sums wrap at the counter width, so the sum is itself a counter', () => {
    const near = 2n ** 64n - 10n;
    const { row } = flatten(inputOf(pollOf([ifIn(1, near), ifIn(2, near)])), undefined);
    expect(row.features.if_hc_in_octets).toBe(2n ** 64n - 20n);
  });
});
