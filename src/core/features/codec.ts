/**
 * Maps feature rows (types.ts) to the protobuf contract `amoskys.telemetry.v1.FeatureRow` and
 * back. uint64 values are exact bigints end to end; absent optional columns stay absent (never 0,
 * never NaN). This is the only place protobufjs feature messages meet domain types.
 */
import type protobuf from 'protobufjs';
import type { PollState } from '../telemetry/index.ts';
import { PollState as PollStates } from '../telemetry/index.ts';
import { type FeatureValues, featureColumns } from './columns.ts';
import { featureTypes } from './schema.ts';
import {
  type ExtraMetric,
  type FeatureRow,
  type FeatureRowDecodeResult,
  RateState,
  type RateState as RateStateValue,
} from './types.ts';

type Long = protobuf.Long;

const uint64Max = (1n << 64n) - 1n;
const uint32Max = 0xffff_ffff;

function toUint64(value: bigint, what: string): Long {
  if (typeof value !== 'bigint' || value < 0n || value > uint64Max) {
    throw new RangeError(`${what} must be a bigint in 0..2^64-1, got ${String(value)}`);
  }
  // protobufjs writes any { low, high } object; `| 0` stores the halves as signed 32-bit like Long.
  return { low: Number(value & 0xffff_ffffn) | 0, high: Number(value >> 32n) | 0, unsigned: true } as Long;
}

function fromUint64(value: Long | number | undefined | null): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function uint32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > uint32Max) {
    throw new RangeError(`${what} must be an integer in 0..2^32-1, got ${value}`);
  }
  return value;
}

function finite(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/** Enum numbers by domain value, and back. The names must match or loading fails (a bug). */
function enumMaps<T extends string>(
  values: readonly T[],
  type: protobuf.Enum,
  prefix: string,
): { toNumber: Map<T, number>; fromNumber: Map<number, T> } {
  const toNumber = new Map<T, number>();
  const fromNumber = new Map<number, T>();
  for (const value of values) {
    const number = type.values[`${prefix}${value.toUpperCase()}`];
    if (number === undefined) throw new Error(`${type.name} has no ${prefix}${value.toUpperCase()}`);
    toNumber.set(value, number);
    fromNumber.set(number, value);
  }
  return { toNumber, fromNumber };
}

const pollStates = enumMaps<PollState>(Object.values(PollStates), featureTypes.PollState, 'POLL_STATE_');
const rateStates = enumMaps<RateStateValue>(Object.values(RateState), featureTypes.RateState, 'RATE_STATE_');

function extraMessage(m: ExtraMetric, index: number): Record<string, unknown> {
  const what = `extra[${index}] ${m.name}`;
  const base: Record<string, unknown> = {
    metric_name: m.name,
    labels: m.labels.map((l) => ({ key: l.key, value: l.value })),
    unit: m.unit,
    oid: m.oid,
  };
  if (m.perSecond !== undefined) base.per_second = finite(m.perSecond, `${what} perSecond`);
  const { value } = m;
  switch (value.kind) {
    case 'numeric':
      return { ...base, numeric_value: value.value };
    case 'string':
      return { ...base, string_value: value.value };
    case 'counter':
      if (value.bits !== 32 && value.bits !== 64) {
        throw new RangeError(`${what}: counter bits must be 32 or 64, got ${String(value.bits)}`);
      }
      return { ...base, counter_value: toUint64(value.value, what), counter_bits: value.bits };
    default:
      throw new RangeError(`${what}: a value of kind ${value.kind} cannot be encoded`);
  }
}

/**
 * The protobuf bytes of a feature row (without the Confluent header: frame them with
 * `frame(schemaId, featuresSchema.messageIndexes, bytes)`). Deterministic: the same row always
 * gives the same bytes.
 * @throws RangeError for values outside the contract (NaN, out-of-range integers, unknown
 *   states): programming errors in the caller, never bad input from the wire.
 */
export function encodeFeatureRow(row: FeatureRow): Uint8Array {
  const pollState = pollStates.toNumber.get(row.pollState as PollState);
  if (pollState === undefined) throw new RangeError(`unknown poll state ${row.pollState}`);
  const rateState = rateStates.toNumber.get(row.rateState as RateStateValue);
  if (rateState === undefined) throw new RangeError(`unknown rate state ${row.rateState}`);
  if (!Number.isSafeInteger(row.pollBytesCollected) || row.pollBytesCollected < 0) {
    throw new RangeError(`pollBytesCollected must be a non-negative integer, got ${row.pollBytesCollected}`);
  }
  const message: Record<string, unknown> = {
    device_id: row.deviceId,
    idempotency_key: row.idempotencyKey,
    slot_start_ns: toUint64(row.slotStartNs, 'slotStartNs'),
    observed_at_ns: toUint64(row.observedAtNs, 'observedAtNs'),
    envelope_ts_ns: toUint64(row.envelopeTsNs, 'envelopeTsNs'),
    signing_key_id: row.signingKeyId,
    interval_s: uint32(row.intervalS, 'intervalS'),
    poll_state: pollState,
    poll_reason: row.pollReason,
    poll_duration_ms: uint32(row.pollDurationMs, 'pollDurationMs'),
    poll_varbinds_requested: uint32(row.pollVarbindsRequested, 'pollVarbindsRequested'),
    poll_varbinds_received: uint32(row.pollVarbindsReceived, 'pollVarbindsReceived'),
    poll_bytes_collected: toUint64(BigInt(row.pollBytesCollected), 'pollBytesCollected'),
    rate_state: rateState,
    extra: row.extra.map(extraMessage),
  };
  if (row.previousObservedAtNs !== undefined) {
    message.previous_observed_at_ns = toUint64(row.previousObservedAtNs, 'previousObservedAtNs');
  }
  const features = row.features as Record<string, unknown>;
  for (const column of featureColumns) {
    const value = features[column.name];
    if (value === undefined) continue;
    switch (column.type) {
      case 'string':
        if (typeof value !== 'string') throw new RangeError(`${column.name} must be a string`);
        message[column.name] = value;
        break;
      case 'double':
        message[column.name] = finite(value as number, column.name);
        break;
      case 'uint32':
        message[column.name] = uint32(value as number, column.name);
        break;
      case 'uint64':
        message[column.name] = toUint64(value as bigint, column.name);
        break;
    }
  }
  return featureTypes.FeatureRow.encode(message).finish();
}

// Shapes of decoded protobufjs messages (optional fields are own properties only when present).
interface PbLabel {
  key: string;
  value: string;
}
interface PbExtra {
  metric_name: string;
  labels: PbLabel[];
  value?: 'numeric_value' | 'string_value' | 'counter_value';
  numeric_value: number;
  string_value: string;
  counter_value: Long | number;
  counter_bits: number;
  per_second?: number;
  unit: string;
  oid: string;
}
interface PbRow {
  device_id: string;
  idempotency_key: string;
  slot_start_ns: Long | number;
  observed_at_ns: Long | number;
  envelope_ts_ns: Long | number;
  signing_key_id: string;
  interval_s: number;
  poll_state: number;
  poll_reason: string;
  poll_duration_ms: number;
  poll_varbinds_requested: number;
  poll_varbinds_received: number;
  poll_bytes_collected: Long | number;
  rate_state: number;
  extra: PbExtra[];
  previous_observed_at_ns?: Long | number;
  [column: string]: unknown;
}

class InvalidRow extends Error {}

function decodeExtra(m: PbExtra, index: number): ExtraMetric {
  let value: ExtraMetric['value'];
  switch (m.value) {
    case 'numeric_value':
      value = { kind: 'numeric', value: m.numeric_value };
      break;
    case 'string_value':
      value = { kind: 'string', value: m.string_value };
      break;
    case 'counter_value':
      if (m.counter_bits !== 32 && m.counter_bits !== 64) {
        throw new InvalidRow(
          `extra[${index}] ${m.metric_name}: counter_bits ${m.counter_bits}, not 32 or 64`,
        );
      }
      value = { kind: 'counter', value: fromUint64(m.counter_value), bits: m.counter_bits };
      break;
    default:
      value = { kind: 'unknown' };
  }
  const perSecond = Object.hasOwn(m, 'per_second') ? (m.per_second as number) : undefined;
  if (perSecond !== undefined && !Number.isFinite(perSecond)) {
    throw new InvalidRow(`extra[${index}] ${m.metric_name}: per_second is ${perSecond}`);
  }
  return {
    name: m.metric_name,
    labels: m.labels.map((l) => ({ key: l.key, value: l.value })),
    value,
    perSecond,
    unit: m.unit,
    oid: m.oid,
  };
}

/**
 * Decodes feature-row bytes (after the Confluent header) into the domain form. Fields unknown to
 * this version of the contract are skipped; enum numbers it does not know read as `unknown`.
 * Never throws for bad input: a malformed message, a non-finite double column or counter bits
 * other than 32/64 come back as `{ ok: false, detail }`.
 */
export function decodeFeatureRow(bytes: Uint8Array): FeatureRowDecodeResult {
  let m: PbRow;
  try {
    m = featureTypes.FeatureRow.decode(bytes) as unknown as PbRow;
  } catch (err) {
    return { ok: false, detail: `malformed protobuf: ${(err as Error).message}` };
  }
  try {
    const features: Record<string, unknown> = {};
    for (const column of featureColumns) {
      // Presence, not value: protobufjs leaves absent optional fields to prototype defaults.
      if (!Object.hasOwn(m, column.name)) continue;
      const value = m[column.name];
      if (column.type === 'uint64') {
        features[column.name] = fromUint64(value as Long | number);
      } else if (column.type === 'double' && !Number.isFinite(value)) {
        throw new InvalidRow(`${column.name} is ${String(value)}`);
      } else {
        features[column.name] = value;
      }
    }
    const row: FeatureRow = {
      deviceId: m.device_id,
      idempotencyKey: m.idempotency_key,
      slotStartNs: fromUint64(m.slot_start_ns),
      observedAtNs: fromUint64(m.observed_at_ns),
      envelopeTsNs: fromUint64(m.envelope_ts_ns),
      signingKeyId: m.signing_key_id,
      intervalS: m.interval_s,
      pollState: pollStates.fromNumber.get(m.poll_state) ?? 'unknown',
      pollReason: m.poll_reason,
      pollDurationMs: m.poll_duration_ms,
      pollVarbindsRequested: m.poll_varbinds_requested,
      pollVarbindsReceived: m.poll_varbinds_received,
      pollBytesCollected: Number(fromUint64(m.poll_bytes_collected)),
      rateState: rateStates.fromNumber.get(m.rate_state) ?? 'unknown',
      previousObservedAtNs: Object.hasOwn(m, 'previous_observed_at_ns')
        ? fromUint64(m.previous_observed_at_ns)
        : undefined,
      features: features as FeatureValues,
      extra: m.extra.map(decodeExtra),
    };
    return { ok: true, row };
  } catch (err) {
    if (err instanceof InvalidRow) return { ok: false, detail: err.message };
    throw err;
  }
}
