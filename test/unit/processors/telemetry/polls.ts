/**
 * Polls for the flatten tests and the golden feature rows: a real one, collected by the SNMP
 * collection code from the recorded walk of Debian snmpd 5.9.3, and small hand-made ones.
 */
import {
  type DevicePoll,
  idempotencyKey,
  type Label,
  type Metric,
  type MetricValue,
} from '../../../../src/core/telemetry/index.ts';
import type { FlattenInput } from '../../../../src/processors/telemetry/flatten.ts';
import {
  buildMetrics,
  defaultProfile,
  getScalars,
  planPoll,
  walkColumns,
} from '../../../../src/producers/snmp/index.ts';
import { loadWalk, ReplayAgent } from '../../producers/snmp/replay-agent.ts';

/** 2026-11-29T10:00:00Z, a 60 s slot boundary (as in the envelope fixtures). */
export const baseSlotStartNs = BigInt(Date.UTC(2026, 10, 29, 10, 0, 0)) * 1_000_000n;
export const second = 1_000_000_000n;

/** The metrics the collector builds from the recorded snmpd walk (71 values, all 29 definitions). */
export async function recordedMetrics(): Promise<Metric[]> {
  const agent = new ReplayAgent(loadWalk());
  const plan = planPoll(defaultProfile);
  const scalars = await getScalars(agent, plan.scalarOids, 32);
  const columns = new Map();
  for (const t of plan.tables) {
    const walked = await walkColumns(agent, t.columns, { maxRepetitions: 25, maxRowsPerColumn: 10_000 });
    for (const [oid, rows] of walked.columns) columns.set(oid, rows);
  }
  const built = buildMetrics(defaultProfile, { scalars: scalars.values, columns, unread: new Map() });
  if (built.problems.length > 0) throw new Error(`recorded walk: ${JSON.stringify(built.problems)}`);
  return built.metrics;
}

/** A poll of `metrics` for slot `slotIndex` (60 s slots from the base), read 2.3 s into the slot. */
export function pollOf(
  metrics: Metric[],
  options: { slotIndex?: number; deviceId?: string; offsetNs?: bigint; intervalS?: number } = {},
): DevicePoll {
  const intervalS = options.intervalS ?? 60;
  const slotStartNs = baseSlotStartNs + BigInt(options.slotIndex ?? 0) * BigInt(intervalS) * second;
  return {
    deviceId: options.deviceId ?? 'router-1',
    protocol: 'snmp',
    intervalS,
    slot: slotStartNs / (BigInt(intervalS) * second),
    slotStartNs,
    observedAtNs: slotStartNs + (options.offsetNs ?? 2_300_000_000n),
    metrics,
    status: {
      state: 'ok',
      reason: '',
      durationMs: 12.5,
      varbindsRequested: 103,
      varbindsReceived: 103,
      bytesCollected: 2412,
    },
  };
}

/** The input flatten() gets for a poll: the envelope's key, ts and signing key. */
export function inputOf(poll: DevicePoll): FlattenInput {
  return {
    poll,
    idempotencyKey: idempotencyKey(poll),
    envelopeTsNs: poll.observedAtNs + 50_000_000n,
    signingKeyId: 'fixture-key-1',
  };
}

/** A metric with a made-up OID. */
export function metric(name: string, value: MetricValue, unit = '', labels: Label[] = []): Metric {
  return { name, value, unit, oid: `1.3.6.1.4.1.99999.${name.length}.${labels.length}`, labels };
}

export const counter32 = (value: bigint | number): MetricValue => ({
  kind: 'counter',
  value: BigInt(value),
  bits: 32,
});
export const counter64 = (value: bigint | number): MetricValue => ({
  kind: 'counter',
  value: BigInt(value),
  bits: 64,
});
export const numeric = (value: number): MetricValue => ({ kind: 'numeric', value });

/** sysUpTime, centiseconds. */
export const uptime = (cs: number) => metric('sys_uptime', numeric(cs), 'centiseconds');
export const cpuUser = (ticks: bigint | number) => metric('cpu_raw_user', counter32(ticks), 'ticks');
/** One interface row of ifHCInOctets. */
export const ifIn = (index: number, bytes: bigint | number, descr = `eth${index}`) =>
  metric('if_hc_in_octets', counter64(bytes), 'bytes', [
    { key: 'ifIndex', value: String(index) },
    { key: 'ifDescr', value: descr },
  ]);

/**
 * Advances a poll's metrics: counters by `ratePerSecond × seconds` (mod 2^bits), sys_uptime by the
 * elapsed centiseconds; everything else unchanged.
 */
export function advance(metrics: Metric[], seconds: number, ratePerSecond: (m: Metric) => number): Metric[] {
  return metrics.map((m) => {
    if (m.value.kind === 'counter') {
      const increase = BigInt(Math.round(ratePerSecond(m) * seconds));
      return { ...m, value: { ...m.value, value: BigInt.asUintN(m.value.bits, m.value.value + increase) } };
    }
    if (m.name === 'sys_uptime' && m.value.kind === 'numeric') {
      return { ...m, value: { kind: 'numeric', value: m.value.value + seconds * 100 } };
    }
    return m;
  });
}
