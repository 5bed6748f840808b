/**
 * Flattens one verified poll into one feature row (amoskys.telemetry.features.v1) and derives
 * counter rates against the device's previous sample.
 *
 * Consumes: a decoded, verified, fresh, deduplicated poll plus the device's snapshot.
 * Produces: the row and the next snapshot. Pure and deterministic (no clock, no randomness, no
 * I/O): the same poll and snapshot always give the same row and snapshot, so a replay after a
 * crash rebuilds what the first run produced. Idempotency key: the envelope's, carried into the
 * row. A redelivery of the latest sample applied (same key, same observed time) reproduces its row
 * exactly, rates included, and leaves the snapshot as it is.
 *
 * Rate rules (docs/features.md, "Rates"), per counter series (metric name + row labels):
 * - rate = increase / seconds between the two samples' observed times;
 * - no rate for the first value of a series, or when its previous value is older than
 *   `maxGapIntervals` × the poll interval;
 * - Counter32 below its previous value: a wrap when the wrapped increase is below 2^31 (one wrap
 *   fits the interval), else a reset; Counter64 below its previous value: a reset (2^64 bytes take
 *   decades at 100 Gbit/s). A reset gives no rate and the series continues from the new value;
 * - sysUpTime that went back, or advanced by other than the elapsed time (beyond a tolerance), is
 *   an agent restart: no rates in this sample, every series starts again;
 * - a sample observed at or before the latest one applied: no rates, the snapshot stays as it is.
 */
import {
  Aggregation,
  type ExtraMetric,
  type FeatureColumn,
  type FeatureRow,
  type FeatureValues,
  featureColumns,
  RateState,
} from '../../core/features/index.ts';
import type { DevicePoll, Metric } from '../../core/telemetry/index.ts';
import { type CounterSeries, type DeviceSnapshot, seriesKey, type UptimeReading } from './snapshot.ts';

/** What flatten() needs besides the snapshot: the poll and the envelope fields it came with. */
export interface FlattenInput {
  poll: DevicePoll;
  /** The envelope's idempotency key. */
  idempotencyKey: string;
  /** The envelope's `ts_ns`, ns since the epoch. */
  envelopeTsNs: bigint;
  /** The key id that signed the envelope. */
  signingKeyId: string;
}

/** Options of {@link flatten}. Changing them changes the rows a replay produces. */
export interface FlattenOptions {
  /**
   * A rate needs the previous value of its series to be at most this many poll intervals older
   * than the current one. 2.5: consecutive polls and one missed poll give a rate, with half an
   * interval of margin for scheduling delay. @default 2.5
   */
  maxGapIntervals: number;
}

/** @see FlattenOptions */
export const flattenDefaults: FlattenOptions = { maxGapIntervals: 2.5 };

/** Result of {@link flatten}. */
export interface FlattenResult {
  row: FeatureRow;
  /** The snapshot to store for the device (the same object as `previous` when nothing changed). */
  next: DeviceSnapshot;
}

const two32 = 1n << 32n;
const two64 = 1n << 64n;
const uint32Max = two32 - 1n;
/** sysUpTime is TimeTicks: it wraps at 2^32 centiseconds (497 days). */
const uptimeModulus = 2 ** 32;
/** Net-SNMP numbers memory rows of hrStorageTable 1..30 (NETSNMP_MEM_TYPE_MAX) and filesystems above. */
const lastMemoryStorageIndex = 30;

/**
 * The per-second rate of a counter series between its previous and current value, or undefined
 * (first value, width changed, value out of range, reset, gap, time not moving forward).
 * @param maxGapNs the largest elapsed time that still gives a rate, ns
 */
export function counterRate(
  previous: Pick<CounterSeries, 'value' | 'bits' | 'observedAtNs'> | undefined,
  current: { value: bigint; bits: 32 | 64; observedAtNs: bigint },
  maxGapNs: bigint,
): number | undefined {
  if (previous === undefined || previous.bits !== current.bits) return undefined;
  const elapsedNs = current.observedAtNs - previous.observedAtNs;
  if (elapsedNs <= 0n || elapsedNs > maxGapNs) return undefined;
  const max = current.bits === 32 ? uint32Max : two64 - 1n;
  if (current.value < 0n || current.value > max || previous.value < 0n || previous.value > max) {
    return undefined;
  }
  let delta: bigint;
  if (current.value >= previous.value) {
    delta = current.value - previous.value;
  } else if (current.bits === 32) {
    delta = current.value + two32 - previous.value;
    // A larger "wrapped" increase is more likely a reset to a small value than one wrap.
    if (delta >= two32 / 2n) return undefined;
  } else {
    return undefined;
  }
  return Number(delta) / (Number(elapsedNs) / 1e9);
}

/**
 * Whether the agent restarted between two sysUpTime readings: sysUpTime (modulo its 2^32 wrap)
 * must advance by the elapsed wall time, within 1 s + the longer poll duration (the value is read
 * somewhere inside the poll) + 1 % of the elapsed time (clock rates).
 */
export function agentRestarted(previous: UptimeReading, current: UptimeReading): boolean {
  const elapsedNs = Number(current.observedAtNs - previous.observedAtNs);
  if (elapsedNs <= 0) return false;
  const advancedCs =
    (((current.centiseconds - previous.centiseconds) % uptimeModulus) + uptimeModulus) % uptimeModulus;
  const toleranceNs = 1e9 + Math.max(previous.pollDurationMs, current.pollDurationMs) * 1e6 + elapsedNs / 100;
  return Math.abs(advancedCs * 1e7 - elapsedNs) > toleranceNs;
}

function uptimeOf(poll: DevicePoll): UptimeReading | undefined {
  const m = poll.metrics.find(
    (x) =>
      x.name === 'sys_uptime' &&
      x.labels.length === 0 &&
      x.value.kind === 'numeric' &&
      x.unit === 'centiseconds',
  );
  if (m === undefined || m.value.kind !== 'numeric' || !Number.isFinite(m.value.value)) return undefined;
  return {
    centiseconds: m.value.value,
    observedAtNs: poll.observedAtNs,
    pollDurationMs: poll.status.durationMs,
  };
}

/** Whether a metric is a value of a column's source definition. */
function matches(column: FeatureColumn, m: Metric): boolean {
  if (m.name !== column.source || m.value.kind !== column.sourceKind || m.unit !== column.sourceUnit)
    return false;
  if (column.sourceBits !== undefined && (m.value.kind !== 'counter' || m.value.bits !== column.sourceBits)) {
    return false;
  }
  return column.table === undefined ? m.labels.length === 0 : true;
}

function numericValue(m: Metric): number | undefined {
  return m.value.kind === 'numeric' && Number.isFinite(m.value.value) ? m.value.value : undefined;
}

function isFilesystemRow(m: Metric): boolean {
  const index = m.labels.find((l) => l.key === 'hrStorageIndex')?.value;
  return index !== undefined && /^\d+$/.test(index) && Number(index) > lastMemoryStorageIndex;
}

const labelsKey = (m: Metric) => seriesKey('', m.labels);

/** Sum of finite numbers, or undefined when there are none, one is not finite, or the sum is not. */
function sumOf(values: (number | undefined)[]): number | undefined {
  if (values.length === 0) return undefined;
  let sum = 0;
  for (const v of values) {
    if (v === undefined) return undefined;
    sum += v;
  }
  // Finite values can overflow to Infinity (two rows of 1e308), which no double column may hold.
  return Number.isFinite(sum) ? sum : undefined;
}

const allocationUnitsColumn = featureColumns.find((c) => c.aggregation === Aggregation.FilesystemMax);

/** One metric of the poll and its index there. */
interface Row {
  m: Metric;
  i: number;
}

/**
 * Computes the named columns. `held` collects the metrics a Value column represents exactly (they
 * are left out of `extra`); `rates` holds the rate of every counter metric by its poll index.
 */
function computeFeatures(
  metrics: readonly Metric[],
  rates: ReadonlyMap<number, number | undefined>,
  held: Set<number>,
): FeatureValues {
  const out: Record<string, string | number | bigint> = {};
  const byName = new Map<string, Row[]>();
  metrics.forEach((m, i) => {
    const list = byName.get(m.name);
    if (list === undefined) byName.set(m.name, [{ m, i }]);
    else list.push({ m, i });
  });
  const rowsOf = (column: FeatureColumn): Row[] =>
    (byName.get(column.source) ?? []).filter(({ m }) => matches(column, m));
  const valueColumn = new Map<string, number>();

  for (const column of featureColumns) {
    const rows = rowsOf(column);
    let value: string | number | bigint | undefined;
    switch (column.aggregation) {
      case Aggregation.Value: {
        const first = rows[0];
        if (first === undefined) break;
        const v = first.m.value;
        if (v.kind === 'numeric' && !Number.isFinite(v.value)) break;
        value = v.value;
        held.add(first.i);
        valueColumn.set(column.source, first.i);
        break;
      }
      case Aggregation.Rate: {
        const index = valueColumn.get(column.source);
        value = index === undefined ? undefined : rates.get(index);
        break;
      }
      case Aggregation.Sum:
        value = sumOf(rows.map(({ m }) => numericValue(m)));
        break;
      case Aggregation.CounterSum: {
        if (rows.length === 0 || column.sourceBits === undefined) break;
        const modulus = column.sourceBits === 32 ? two32 : two64;
        let sum = 0n;
        for (const { m } of rows) if (m.value.kind === 'counter') sum = (sum + m.value.value) % modulus;
        value = sum;
        break;
      }
      case Aggregation.RateSum:
        value = sumOf(rows.map(({ i }) => rates.get(i)));
        break;
      case Aggregation.CountUp:
        if (rows.length > 0) value = rows.filter(({ m }) => numericValue(m) === 1).length;
        break;
      case Aggregation.FilesystemMax: {
        const values = rows.filter(({ m }) => isFilesystemRow(m)).map(({ m }) => numericValue(m));
        if (values.length > 0 && values.every((v) => v !== undefined)) value = Math.max(...values);
        break;
      }
      case Aggregation.FilesystemBytesSum: {
        if (allocationUnitsColumn === undefined) break;
        const units = new Map(rowsOf(allocationUnitsColumn).map(({ m }) => [labelsKey(m), numericValue(m)]));
        value = sumOf(
          rows
            .filter(({ m }) => isFilesystemRow(m))
            .map(({ m }) => {
              const v = numericValue(m);
              const u = units.get(labelsKey(m));
              return v === undefined || u === undefined ? undefined : v * u;
            }),
        );
        break;
      }
    }
    if (value !== undefined) out[column.name] = value;
  }
  return out as FeatureValues;
}

/** How the rates of a sample are decided before looking at single series. */
type Plan =
  | { kind: 'fresh'; rateState: RateState }
  | { kind: 'redelivery'; previous: DeviceSnapshot }
  | { kind: 'out_of_order'; previous: DeviceSnapshot }
  | { kind: 'rates'; previous: DeviceSnapshot };

function plan(poll: DevicePoll, key: string, previous: DeviceSnapshot | undefined, maxGapNs: bigint): Plan {
  // A snapshot of another device is a caller's mix-up; starting afresh is the safe reading.
  if (previous === undefined || previous.deviceId !== poll.deviceId) {
    return { kind: 'fresh', rateState: RateState.FirstSample };
  }
  if (poll.observedAtNs === previous.observedAtNs && key === previous.idempotencyKey) {
    return { kind: 'redelivery', previous };
  }
  if (poll.observedAtNs <= previous.observedAtNs) return { kind: 'out_of_order', previous };
  if (poll.observedAtNs - previous.observedAtNs > maxGapNs)
    return { kind: 'fresh', rateState: RateState.Gap };
  const uptime = uptimeOf(poll);
  if (previous.uptime !== undefined && uptime !== undefined && agentRestarted(previous.uptime, uptime)) {
    return { kind: 'fresh', rateState: RateState.AgentRestart };
  }
  return { kind: 'rates', previous };
}

/**
 * Flattens one poll into a feature row and derives counter rates against `previous`, the device's
 * snapshot (undefined for a device not seen before, or when its stored bytes did not decode).
 * Pure and deterministic; never mutates `previous`. See the file header for the rate rules and
 * docs/features.md for every column.
 * @param options must be the same on every run that may replay the same input
 * @throws RangeError for invalid options (a programming error); never for poll contents.
 */
export function flatten(
  input: FlattenInput,
  previous: DeviceSnapshot | undefined,
  options: FlattenOptions = flattenDefaults,
): FlattenResult {
  const { poll, idempotencyKey } = input;
  if (!(options.maxGapIntervals > 0) || !Number.isFinite(options.maxGapIntervals)) {
    throw new RangeError(`maxGapIntervals must be a positive number, got ${options.maxGapIntervals}`);
  }
  const maxGapNs = BigInt(Math.round(options.maxGapIntervals * poll.intervalS * 1e9));
  const decided = plan(poll, idempotencyKey, previous, maxGapNs);

  const rates = new Map<number, number | undefined>();
  const current = new Map<string, CounterSeries>();
  let rateState: RateState;
  let previousObservedAtNs: bigint | undefined;
  let next: DeviceSnapshot;

  poll.metrics.forEach((m, i) => {
    if (m.value.kind !== 'counter') return;
    const key = seriesKey(m.name, m.labels);
    const { value, bits } = m.value;
    const sample = { value, bits, observedAtNs: poll.observedAtNs };
    let perSecond: number | undefined;
    if (decided.kind === 'rates') {
      perSecond = counterRate(decided.previous.series.get(key), sample, maxGapNs);
    } else if (decided.kind === 'redelivery') {
      const stored = decided.previous.series.get(key);
      perSecond = stored?.observedAtNs === poll.observedAtNs ? stored.perSecond : undefined;
    }
    rates.set(i, perSecond);
    current.set(key, {
      name: m.name,
      labels: m.labels,
      value,
      bits,
      observedAtNs: poll.observedAtNs,
      perSecond,
    });
  });

  switch (decided.kind) {
    case 'redelivery':
    case 'out_of_order': {
      const { previous: p } = decided;
      rateState = decided.kind === 'redelivery' ? p.rateState : RateState.OutOfOrder;
      previousObservedAtNs = decided.kind === 'redelivery' ? p.previousObservedAtNs : undefined;
      next = p;
      break;
    }
    case 'fresh':
    case 'rates': {
      rateState = decided.kind === 'fresh' ? decided.rateState : RateState.Ok;
      previousObservedAtNs = decided.kind === 'rates' ? decided.previous.observedAtNs : undefined;
      const series = new Map<string, CounterSeries>();
      if (decided.kind === 'rates') {
        // Series missing from this sample stay while they can still give a rate.
        const oldest = poll.observedAtNs - maxGapNs;
        for (const [key, s] of decided.previous.series) if (s.observedAtNs >= oldest) series.set(key, s);
      }
      for (const [key, s] of current) series.set(key, s);
      next = {
        deviceId: poll.deviceId,
        idempotencyKey,
        observedAtNs: poll.observedAtNs,
        rateState,
        previousObservedAtNs,
        uptime: uptimeOf(poll) ?? (decided.kind === 'rates' ? decided.previous.uptime : undefined),
        series,
      };
      break;
    }
  }

  const held = new Set<number>();
  const features = computeFeatures(poll.metrics, rates, held);
  const extra: ExtraMetric[] = [];
  poll.metrics.forEach((m, i) => {
    if (held.has(i)) return;
    extra.push({
      name: m.name,
      // Shared with the poll, like the series in the snapshot: none of them is ever mutated.
      labels: m.labels,
      value: m.value,
      perSecond: rates.get(i),
      unit: m.unit,
      oid: m.oid,
    });
  });

  const { status } = poll;
  const row: FeatureRow = {
    deviceId: poll.deviceId,
    idempotencyKey,
    slotStartNs: poll.slotStartNs,
    observedAtNs: poll.observedAtNs,
    envelopeTsNs: input.envelopeTsNs,
    signingKeyId: input.signingKeyId,
    intervalS: poll.intervalS,
    pollState: status.state,
    pollReason: status.reason,
    // The contract's resolution is a whole millisecond (as in the envelope).
    pollDurationMs: Math.round(status.durationMs),
    pollVarbindsRequested: status.varbindsRequested,
    pollVarbindsReceived: status.varbindsReceived,
    pollBytesCollected: status.bytesCollected,
    rateState,
    previousObservedAtNs,
    features,
    extra,
  };
  return { row, next };
}
