/**
 * Kafka messages -> ClickHouse rows, pure. One function per source topic; each returns a record
 * (what the batch planner needs: the row count and the slot time that picks the partition) that
 * is written as TabSeparated later, or a skip with a reason. Column lists are the insert contract
 * with schemas/clickhouse/0001_tables.ts and are named in every INSERT.
 */
import type { TrustSnapshot } from '../../core/crypto/index.ts';
import { keyIsBound, trustedKey } from '../../core/crypto/index.ts';
import {
  checkContract,
  type DecodedEnvelope,
  type DecodedMetric,
  decodeEnvelope,
  verifyEnvelopeBytes,
} from '../../core/envelope/index.ts';
import { decodeFeatureRow, type FeatureRow, featureColumns } from '../../core/features/index.ts';
import { unframe } from '../../core/registry/index.ts';
import { TSV_NULL, type TsvWriter, tsvDateTime, tsvFloat, tsvStringArray, tsvText } from './tsv.ts';
import { DlqHeader, SkipReason, type SourceCoordinates } from './types.ts';

const nsPerS = 1_000_000_000n;

const kafkaColumns = ['kafka_topic', 'kafka_partition', 'kafka_offset'] as const;

/** Columns of `raw_envelopes` the sink writes, in order. */
export const rawColumns = [
  'idempotency_key',
  'device_id',
  'slot_start',
  'slot_start_ns',
  'envelope_ts_ns',
  'signing_key_id',
  'envelope_version',
  'metric_count',
  'bytes',
  ...kafkaColumns,
] as const;

/** Columns of `metrics`. */
export const metricColumns = [
  'idempotency_key',
  'device_id',
  'ts',
  'observed_at_ns',
  'metric_name',
  'value_numeric',
  'value_string',
  'counter_value',
  'counter_bits',
  'unit',
  'oid',
  'label_keys',
  'label_values',
  ...kafkaColumns,
] as const;

/** Columns of `features`: the header, every named feature, the extras, the coordinates. */
export const featureTableColumns = [
  'idempotency_key',
  'device_id',
  'slot_start',
  'slot_start_ns',
  'observed_at_ns',
  'envelope_ts_ns',
  'signing_key_id',
  'interval_s',
  'poll_state',
  'poll_reason',
  'poll_duration_ms',
  'poll_varbinds_requested',
  'poll_varbinds_received',
  'poll_bytes_collected',
  'rate_state',
  'previous_observed_at_ns',
  ...featureColumns.map((c) => c.name),
  'extra_json',
  ...kafkaColumns,
] as const;

/** Columns of `dlq`. */
export const dlqColumns = [
  'reason',
  'message',
  'source_topic',
  'source_partition',
  'source_offset',
  'source_key',
  'bytes',
  'rejected_at',
  'rejected_at_ms',
  ...kafkaColumns,
] as const;

/** Finds the public key a device's envelope may be verified with; undefined when none may. */
export type KeyResolver = (signingKeyId: string, deviceId: string) => Uint8Array | undefined;

/**
 * The resolver of a trust snapshot: the key must be known and bound to the device. Revocation
 * and the validity window are the processor's judgement at processing time; the archive keeps
 * what was accepted then, even after the key is revoked.
 */
export function snapshotResolver(snapshot: () => TrustSnapshot): KeyResolver {
  return (keyId, deviceId) => {
    const key = trustedKey(snapshot(), keyId);
    return key !== undefined && keyIsBound(key, deviceId) ? key.publicKey : undefined;
  };
}

/** A verified envelope, ready to become one raw_envelopes row and one metrics row per metric. */
export interface RawRecord {
  kind: 'raw';
  coordinates: SourceCoordinates;
  /** The Kafka value as received. */
  value: Uint8Array;
  envelope: DecodedEnvelope;
  deviceId: string;
  /** Start of the poll slot, s since the epoch: the partition key of both tables. */
  slotStartS: number;
  /** Rows this record adds to the larger of its two tables (`metrics`, at least 1). */
  rows: number;
}

/** A message that produces no row, and why. */
export interface Skip {
  kind: 'skip';
  coordinates: SourceCoordinates;
  reason: SkipReason;
  detail: string;
}

/**
 * Checks a raw-topic value the way the archive needs it: framed, decodable, with a device
 * payload, and signed by a key the trust store binds to that device (signature checked over the
 * bytes as received). Anything else is skipped: the processor dead-letters it with its reason.
 */
export function rawRecord(
  value: Buffer | null,
  coordinates: SourceCoordinates,
  resolve: KeyResolver,
): RawRecord | Skip {
  const skip = (reason: SkipReason, detail: string): Skip => ({ kind: 'skip', coordinates, reason, detail });
  if (value === null) return skip(SkipReason.Undecodable, 'tombstone (null value)');
  const framed = unframe(value);
  if (!framed.ok) return skip(SkipReason.Undecodable, framed.detail);
  const decoded = decodeEnvelope(framed.payload);
  if (!decoded.ok) return skip(SkipReason.Undecodable, decoded.detail);
  const telemetry = decoded.envelope.telemetry;
  if (telemetry === undefined || telemetry.deviceId === '') {
    return skip(SkipReason.NoTelemetry, 'no device_telemetry payload');
  }
  const deviceId = telemetry.deviceId;
  const verified = verifyEnvelopeBytes(framed.payload, (keyId) => resolve(keyId, deviceId));
  if (!verified.ok) return skip(SkipReason.Unverified, verified.detail);
  const checked = checkContract(decoded.envelope);
  if (!checked.ok) return skip(SkipReason.InvalidValues, checked.detail);
  const slotStartS = Number(telemetry.timestampNs / nsPerS);
  // A DateTime holds 1970..2106; an insert of anything else fails, and would be retried for ever.
  // The processor dead-letters such an envelope (stale or future), so skipping it loses nothing.
  if (slotStartS >= 2 ** 32)
    return skip(SkipReason.OutOfRange, `slot start ${telemetry.timestampNs} ns is after 2106`);
  return {
    kind: 'raw',
    coordinates,
    value,
    envelope: decoded.envelope,
    deviceId,
    slotStartS,
    rows: Math.max(1, telemetry.metrics.length),
  };
}

function kafkaFields(c: SourceCoordinates): string[] {
  return [tsvText(c.topic), String(c.partition), c.offset];
}

function metricFields(m: DecodedMetric): [string, string, string, string] {
  switch (m.value.kind) {
    case 'numeric':
      return [tsvFloat(m.value.value), '', TSV_NULL, '0'];
    case 'string':
      return [TSV_NULL, tsvText(m.value.value), TSV_NULL, '0'];
    case 'counter':
      return [TSV_NULL, '', m.value.value.toString(), String(m.value.bits)];
    default:
      // A value kind from a newer producer: the row keeps name, oid and labels; the exact bytes
      // stay in raw_envelopes.
      return [TSV_NULL, '', TSV_NULL, '0'];
  }
}

/** Writes a raw record: one row to `raw`, one row per metric to `metrics`. */
export function writeRaw(record: RawRecord, raw: TsvWriter, metrics: TsvWriter): void {
  const { envelope, deviceId, coordinates } = record;
  const { header } = envelope;
  const telemetry = envelope.telemetry as NonNullable<DecodedEnvelope['telemetry']>;
  const key = tsvText(header.idempotencyKey);
  const device = tsvText(deviceId);
  const slotStart = tsvDateTime(record.slotStartS);
  const kafka = kafkaFields(coordinates);
  raw.row([
    key,
    device,
    slotStart,
    telemetry.timestampNs.toString(),
    header.tsNs.toString(),
    tsvText(header.signingKeyId),
    String(header.envelopeVersion),
    String(telemetry.metrics.length),
    record.value,
    ...kafka,
  ]);
  for (const m of telemetry.metrics) {
    metrics.row([
      key,
      device,
      slotStart,
      m.observedAtNs.toString(),
      tsvText(m.name),
      ...metricFields(m),
      tsvText(m.unit),
      tsvText(m.oid),
      tsvStringArray(m.labels.map((l) => l.key)),
      tsvStringArray(m.labels.map((l) => l.value)),
      ...kafka,
    ]);
  }
}

/** A decoded feature row, ready to become one `features` row. */
export interface FeatureRecord {
  kind: 'feature';
  coordinates: SourceCoordinates;
  row: FeatureRow;
  slotStartS: number;
  rows: 1;
}

/** Decodes a features-topic value (Confluent-framed FeatureRow). */
export function featureRecord(value: Buffer | null, coordinates: SourceCoordinates): FeatureRecord | Skip {
  const skip = (detail: string): Skip => ({
    kind: 'skip',
    coordinates,
    reason: SkipReason.Undecodable,
    detail,
  });
  if (value === null) return skip('tombstone (null value)');
  const framed = unframe(value);
  if (!framed.ok) return skip(framed.detail);
  const decoded = decodeFeatureRow(framed.payload);
  if (!decoded.ok) return skip(decoded.detail);
  return {
    kind: 'feature',
    coordinates,
    row: decoded.row,
    slotStartS: Number(decoded.row.slotStartNs / nsPerS),
    rows: 1,
  };
}

/** `extra_json`: the extras as a JSON array; counters as exact decimal strings. */
export function extraJson(row: FeatureRow): string {
  return JSON.stringify(
    row.extra.map((e) => ({
      name: e.name,
      labels: Object.fromEntries(e.labels.map((l) => [l.key, l.value])),
      value:
        e.value.kind === 'counter'
          ? e.value.value.toString()
          : e.value.kind === 'unknown'
            ? null
            : e.value.value,
      ...(e.value.kind === 'counter' ? { counter_bits: e.value.bits } : {}),
      per_second: e.perSecond ?? null,
      unit: e.unit,
      oid: e.oid,
    })),
  );
}

/** Writes a feature record as one `features` row. */
export function writeFeature(record: FeatureRecord, features: TsvWriter): void {
  const r = record.row;
  const values = r.features as Record<string, string | number | bigint | undefined>;
  const named = featureColumns.map((c) => {
    const v = values[c.name];
    if (v === undefined) return TSV_NULL;
    if (typeof v === 'string') return tsvText(v);
    if (typeof v === 'bigint') return v.toString();
    return c.type === 'double' ? tsvFloat(v) : String(v);
  });
  features.row([
    tsvText(r.idempotencyKey),
    tsvText(r.deviceId),
    tsvDateTime(record.slotStartS),
    r.slotStartNs.toString(),
    r.observedAtNs.toString(),
    r.envelopeTsNs.toString(),
    tsvText(r.signingKeyId),
    String(r.intervalS),
    r.pollState,
    tsvText(r.pollReason),
    String(r.pollDurationMs),
    String(r.pollVarbindsRequested),
    String(r.pollVarbindsReceived),
    String(r.pollBytesCollected),
    r.rateState,
    r.previousObservedAtNs === undefined ? TSV_NULL : r.previousObservedAtNs.toString(),
    ...named,
    tsvText(extraJson(r)),
    ...kafkaFields(record.coordinates),
  ]);
}

/** A dead letter, ready to become one `dlq` row. */
export interface DlqRecord {
  kind: 'dlq';
  coordinates: SourceCoordinates;
  value: Uint8Array;
  reason: string;
  message: string;
  source: SourceCoordinates;
  sourceKey: string;
  rejectedAtMs: number;
  rows: 1;
}

/**
 * A dead letter as the processor wrote it: original bytes, reason and source in headers. Never
 * skipped: a message without the headers (not written by the processor) is stored with reason
 * `missing_reason` and its own coordinates as the source, so it is still seen and deduplicated.
 */
export function dlqRecord(
  value: Buffer | null,
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
  key: Buffer | null,
  coordinates: SourceCoordinates,
  timestampMs: number,
): DlqRecord {
  const header = (name: string): string | undefined => {
    const h = headers?.[name];
    const first = Array.isArray(h) ? h[0] : h;
    return first === undefined ? undefined : first.toString();
  };
  const sourceTopic = header(DlqHeader.SourceTopic);
  const sourcePartition = Number(header(DlqHeader.SourcePartition));
  const sourceOffset = header(DlqHeader.SourceOffset);
  const hasSource =
    sourceTopic !== undefined &&
    Number.isInteger(sourcePartition) &&
    sourcePartition >= 0 &&
    sourceOffset !== undefined &&
    /^\d+$/.test(sourceOffset);
  // Only a time a DateTime column holds: an empty header (Number('') is 0), a negative or a far
  // future time would fail the insert, and a failing insert is retried for ever.
  const rejectedAtHeader = header(DlqHeader.RejectedAtMs);
  const rejectedAtMs = /^\d+$/.test(rejectedAtHeader ?? '') ? Number(rejectedAtHeader) : Number.NaN;
  return {
    kind: 'dlq',
    coordinates,
    value: value ?? new Uint8Array(0),
    reason: header(DlqHeader.Reason) ?? 'missing_reason',
    message: header(DlqHeader.Message) ?? '',
    source: hasSource
      ? { topic: sourceTopic, partition: sourcePartition, offset: sourceOffset }
      : coordinates,
    sourceKey: header(DlqHeader.SourceKey) ?? key?.toString('utf8') ?? '',
    rejectedAtMs: dateTimeMs(rejectedAtMs) ? rejectedAtMs : dateTimeMs(timestampMs) ? timestampMs : 0,
    rows: 1,
  };
}

/** Whether `ms` is a whole number of ms that a DateTime (UInt32 seconds) can hold. */
function dateTimeMs(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= 0 && ms < 2 ** 32 * 1000;
}

/** Writes a dead letter as one `dlq` row. */
export function writeDlq(record: DlqRecord, dlq: TsvWriter): void {
  dlq.row([
    tsvText(record.reason),
    tsvText(record.message),
    tsvText(record.source.topic),
    String(record.source.partition),
    record.source.offset,
    tsvText(record.sourceKey),
    record.value,
    tsvDateTime(Math.floor(record.rejectedAtMs / 1000)),
    String(record.rejectedAtMs),
    ...kafkaFields(record.coordinates),
  ]);
}
