/**
 * `amoskys inspect`: decodes messages of a pipeline topic or a ClickHouse table for people and
 * scripts. Read-only: it commits no offsets (its consumer group is private and deleted after) and
 * writes nothing to ClickHouse.
 *
 * What each message shows: where it was read, the Confluent wire format (magic, schema id,
 * message indexes), the envelope header, the signature status against the trust store, the
 * device, event types and counts (legacy FlowEvent / ProcessEvent included), and every metric
 * value; feature rows show their header and values; dead letters show their reason and source,
 * then the rejected bytes decoded as far as they go.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { decodeEnvelope } from '../../core/envelope/index.ts';
import { decodeFeatureRow } from '../../core/features/index.ts';
import { unframe } from '../../core/registry/index.ts';
import { type InspectTable, readTable } from './clickhouse-source.ts';
import { type DecodeContext, inspectMessage, type KindHint, sniffKind } from './decode.ts';
import { type KafkaRecord, type ReadProgress, readTopic, type StopReason } from './kafka-source.ts';
import type { InspectedMessage } from './types.ts';

/** Topics of the pipeline by role. */
export type TopicRole = 'raw' | 'features' | 'dlq';

/** The kind of message each role's topic holds. */
export const kindOfRole: Record<TopicRole, KindHint> = {
  raw: 'envelope',
  features: 'feature_row',
  dlq: 'dead_letter',
};

/** The ClickHouse table that stores each role's messages. */
export const tableOfRole: Record<TopicRole, InspectTable> = {
  raw: 'raw_envelopes',
  features: 'features',
  dlq: 'dlq',
};

/** Filters shared by both sources. */
export interface InspectFilters {
  /** Messages to show. */
  limit: number;
  /** `first`: from the start position on; `last`: the newest. */
  mode: 'first' | 'last';
  /** Only this device (the record key; in the dlq, the rejected record's key). */
  device?: string;
  /** Only this idempotency key. */
  idempotencyKey?: string;
  /** Only this partition (ClickHouse: of the stored copy). */
  partition?: number;
  /** From this offset on (ClickHouse: of the stored copy). */
  startOffset?: bigint;
}

/** What was inspected, and how reading ended. */
export interface InspectResult {
  source:
    | { kind: 'kafka'; topic: string; role: TopicRole | undefined; decodedAs: KindHint }
    | { kind: 'clickhouse'; database: string; table: InspectTable };
  messages: InspectedMessage[];
  /** Records read to find them (Kafka). */
  scanned: number;
  /** Why reading stopped (Kafka): the limit, the end offsets, or no progress for the idle timeout. */
  stoppedBy: StopReason;
  /** Each partition read (Kafka): start, end offset fetched at the start, and position reached. */
  partitions: { partition: number; start: bigint; end: bigint; position: bigint }[];
}

/** The device id and idempotency key a value names, read cheaply (no signature check). */
export function keysOfValue(value: Uint8Array | null): { deviceId?: string; idempotencyKey?: string } {
  if (value === null) return {};
  const framed = unframe(value);
  const payload = framed.ok ? framed.payload : value;
  const kind = sniffKind(payload);
  if (kind === 'envelope') {
    const decoded = decodeEnvelope(payload);
    if (!decoded.ok) return {};
    return {
      idempotencyKey: decoded.envelope.header.idempotencyKey,
      ...(decoded.envelope.telemetry === undefined ? {} : { deviceId: decoded.envelope.telemetry.deviceId }),
    };
  }
  if (kind === 'feature_row') {
    const decoded = decodeFeatureRow(payload);
    return decoded.ok ? { deviceId: decoded.row.deviceId, idempotencyKey: decoded.row.idempotencyKey } : {};
  }
  return {};
}

/** Whether a record passes the device and idempotency-key filters. */
export function matchesRecord(
  record: KafkaRecord,
  filters: Pick<InspectFilters, 'device' | 'idempotencyKey'>,
): boolean {
  if (filters.device === undefined && filters.idempotencyKey === undefined) return true;
  // The key is the device id on every AMOSKYS topic (the dlq keeps the rejected record's key):
  // compare it before decoding anything.
  const key = record.key?.toString('utf8');
  if (filters.device !== undefined && key !== undefined && key !== filters.device) return false;
  const needsDecode =
    filters.idempotencyKey !== undefined || (filters.device !== undefined && key === undefined);
  if (!needsDecode) return true;
  const keys = keysOfValue(record.value);
  if (filters.device !== undefined && key === undefined && keys.deviceId !== filters.device) return false;
  return filters.idempotencyKey === undefined || keys.idempotencyKey === filters.idempotencyKey;
}

/** Options of {@link inspectTopic}. */
export interface InspectTopicOptions extends InspectFilters {
  topic: string;
  role: TopicRole | undefined;
  /** How to decode; default from the role, else recognised per message. */
  kind?: KindHint;
  ctx: DecodeContext;
  /** @default 15_000 */
  idleTimeoutMs?: number;
  onProgress?: (progress: ReadProgress) => void;
}

/** Reads and decodes messages of a topic. */
export async function inspectTopic(kafka: Kafka, options: InspectTopicOptions): Promise<InspectResult> {
  const decodedAs: KindHint =
    options.kind ?? (options.role === undefined ? 'auto' : kindOfRole[options.role]);
  const read = await readTopic(kafka, {
    topic: options.topic,
    limit: options.limit,
    mode: options.mode,
    ...(options.partition === undefined ? {} : { partitions: [options.partition] }),
    ...(options.startOffset === undefined ? {} : { startOffset: options.startOffset }),
    ...(options.mode === 'last' && options.device === undefined && options.idempotencyKey === undefined
      ? { tail: options.limit }
      : {}),
    accept: (record) => matchesRecord(record, options),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const messages = read.records.map((r) =>
    inspectMessage(
      {
        source: 'kafka',
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestampMs: r.timestampMs,
        key: r.key === null ? null : r.key.toString('utf8'),
        headers: r.headers,
      },
      r.value === null ? null : new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength),
      decodedAs,
      options.ctx,
    ),
  );
  return {
    source: { kind: 'kafka', topic: options.topic, role: options.role, decodedAs },
    messages,
    scanned: read.scanned,
    stoppedBy: read.stoppedBy,
    partitions: read.partitions,
  };
}

/** Options of {@link inspectTable}. */
export interface InspectTableOptions extends InspectFilters {
  database: string;
  table: InspectTable;
  ctx: DecodeContext;
}

/** Reads and decodes rows of a ClickHouse table. */
export async function inspectTable(
  client: ClickHouseClient,
  options: InspectTableOptions,
): Promise<InspectResult> {
  const { ctx, ...query } = options;
  const messages = await readTable(client, query, ctx);
  return {
    source: { kind: 'clickhouse', database: options.database, table: options.table },
    messages,
    scanned: messages.length,
    stoppedBy: messages.length >= options.limit ? 'limit' : 'end',
    partitions: [],
  };
}
