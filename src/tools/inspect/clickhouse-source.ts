/**
 * Reads stored messages back from ClickHouse for inspection: `raw_envelopes` and `dlq` rows hold
 * the Kafka value exactly as received (`bytes`), so they decode like a record read from the topic;
 * `features` rows are shown from their columns (the wide table keeps no bytes).
 *
 * Queries must run on ClickHouse 18.16, which has no query parameters: every value is put into
 * the SQL through sqlString (escaped) or as a validated integer. Bytes are read as `hex(bytes)`,
 * since the JSON output of a binary String is not exact. Tables are read with FINAL, so each
 * idempotency key (dlq: each source message) shows once, merged or not, as the analyst views do.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlString } from '../../core/clickhouse/index.ts';
import { InputError } from '../../core/errors/index.ts';
import { featureColumns } from '../../core/features/index.ts';
import { type DecodeContext, inspectMessage } from './decode.ts';
import {
  type DeadLetterView,
  type ExtraValueView,
  type FeatureRowView,
  type InspectedMessage,
  MessageKind,
  type MessageOrigin,
} from './types.ts';

/** Tables `inspect --source clickhouse` reads. */
export const inspectTables = ['raw_envelopes', 'dlq', 'features'] as const;
export type InspectTable = (typeof inspectTables)[number];

/** Which rows to read. */
export interface TableQuery {
  database: string;
  table: InspectTable;
  limit: number;
  /** `first`: oldest first; `last`: the newest `limit` (returned oldest first). */
  mode: 'first' | 'last';
  /** Device id (dlq: the source record key). */
  device?: string;
  /** Idempotency key (dlq: rows whose bytes contain it). */
  idempotencyKey?: string;
  /** Kafka partition the stored copy was read from. */
  partition?: number;
  /** Kafka offset of the stored copy, from this one on. */
  startOffset?: bigint;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

const rawColumns = [
  'idempotency_key',
  'device_id',
  'slot_start_ns',
  'envelope_ts_ns',
  'signing_key_id',
  'envelope_version',
  'metric_count',
  'hex(bytes) AS bytes_hex',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
  'inserted_at',
];

const dlqColumns = [
  'reason',
  'message',
  'source_topic',
  'source_partition',
  'source_offset',
  'source_key',
  'hex(bytes) AS bytes_hex',
  'rejected_at_ms',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
  'inserted_at',
];

/**
 * The SELECT of one table query. Pure.
 * @throws RangeError for a database name that is not an identifier or a bad limit/partition/offset
 */
export function buildTableQuery(q: TableQuery): string {
  if (!identifier.test(q.database))
    throw new RangeError(`database ${q.database} is not a ClickHouse identifier`);
  if (!Number.isSafeInteger(q.limit) || q.limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${q.limit}`);
  const where: string[] = [];
  if (q.device !== undefined) {
    where.push(`${q.table === 'dlq' ? 'source_key' : 'device_id'} = ${sqlString(q.device)}`);
  }
  if (q.idempotencyKey !== undefined) {
    // The dlq table has no key column; the key is a string inside the protobuf bytes.
    where.push(
      q.table === 'dlq'
        ? `position(bytes, ${sqlString(q.idempotencyKey)}) > 0`
        : `idempotency_key = ${sqlString(q.idempotencyKey)}`,
    );
  }
  if (q.partition !== undefined) {
    if (!Number.isSafeInteger(q.partition) || q.partition < 0)
      throw new RangeError(`bad partition ${q.partition}`);
    where.push(`kafka_partition = ${q.partition}`);
  }
  if (q.startOffset !== undefined) {
    if (q.startOffset < 0n) throw new RangeError(`bad offset ${q.startOffset}`);
    where.push(`kafka_offset >= ${q.startOffset.toString()}`);
  }
  const direction = q.mode === 'last' ? 'DESC' : 'ASC';
  const order =
    q.table === 'dlq'
      ? ['rejected_at_ms', 'source_topic', 'source_partition', 'source_offset']
      : ['slot_start', 'idempotency_key'];
  const columns = q.table === 'raw_envelopes' ? rawColumns : q.table === 'dlq' ? dlqColumns : ['*'];
  return [
    `SELECT ${columns.join(', ')}`,
    `FROM ${q.database}.${q.table} FINAL`,
    ...(where.length > 0 ? [`WHERE ${where.join(' AND ')}`] : []),
    `ORDER BY ${order.map((c) => `${c} ${direction}`).join(', ')}`,
    `LIMIT ${q.limit}`,
  ].join('\n');
}

type Row = Record<string, unknown>;

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

function originOf(q: TableQuery, row: Row): MessageOrigin {
  return {
    source: 'clickhouse',
    database: q.database,
    table: q.table,
    kafkaTopic: text(row.kafka_topic),
    kafkaPartition: Number(row.kafka_partition),
    kafkaOffset: text(row.kafka_offset),
    insertedAt: text(row.inserted_at),
  };
}

function bytesOf(row: Row): Buffer {
  return Buffer.from(text(row.bytes_hex), 'hex');
}

/** Stored columns of a raw_envelopes row that disagree with its decoded bytes. */
function rawMismatches(row: Row, message: InspectedMessage): string[] {
  const e = message.envelope;
  if (e === undefined) return ['the stored bytes do not decode as an envelope'];
  const pairs: [string, unknown, string | number | bigint | undefined][] = [
    ['idempotency_key', row.idempotency_key, e.header.idempotencyKey],
    ['device_id', row.device_id, e.device?.id],
    ['slot_start_ns', row.slot_start_ns, e.device?.slotStartNs],
    ['envelope_ts_ns', row.envelope_ts_ns, e.header.tsNs],
    ['signing_key_id', row.signing_key_id, e.header.signingKeyId],
    ['envelope_version', row.envelope_version, e.header.envelopeVersion],
    ['metric_count', row.metric_count, e.events.metric],
  ];
  return pairs
    .filter(([, stored, decoded]) => text(stored) !== text(decoded))
    .map(([column, stored, decoded]) => `${column}: stored ${text(stored)}, the bytes say ${text(decoded)}`);
}

function extraOf(json: string): ExtraValueView[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [
      {
        name: '(extra_json is not JSON)',
        labels: '',
        value: json.slice(0, 200),
        perSecond: null,
        unit: '',
        oid: '',
      },
    ];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.map((item: Row) => {
    const labels = item.labels;
    let labelText = '';
    if (Array.isArray(labels)) {
      labelText = labels
        .map((l: unknown) =>
          Array.isArray(l)
            ? `${text(l[0])}=${text(l[1])}`
            : typeof l === 'object' && l !== null
              ? `${text((l as Row).key)}=${text((l as Row).value)}`
              : text(l),
        )
        .join(',');
    } else if (typeof labels === 'object' && labels !== null) {
      labelText = Object.entries(labels)
        .map(([k, v]) => `${k}=${text(v)}`)
        .join(',');
    }
    const value = item.value;
    const perSecond = item.per_second ?? item.perSecond;
    // The sink writes counters as exact decimal strings next to their counter_bits.
    const counter = item.counter_bits !== undefined && typeof value === 'string';
    return {
      name: text(item.name),
      labels: labelText,
      value:
        value === null || value === undefined
          ? '(unknown kind)'
          : counter || typeof value === 'number'
            ? String(value)
            : JSON.stringify(value),
      perSecond: typeof perSecond === 'number' ? perSecond : null,
      unit: text(item.unit),
      oid: text(item.oid),
    };
  });
}

const featureHeader = [
  'device_id',
  'idempotency_key',
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
];

const u64Header = new Set([
  'slot_start_ns',
  'observed_at_ns',
  'envelope_ts_ns',
  'poll_bytes_collected',
  'previous_observed_at_ns',
]);

/** A features-table row as a feature-row view (UInt64 columns exact, NULL columns left out). */
export function featureRowFromColumns(row: Row): FeatureRowView {
  const header: FeatureRowView['header'] = {};
  for (const name of featureHeader) {
    const value = row[name];
    if (value === null || value === undefined) header[name] = null;
    else if (u64Header.has(name)) header[name] = BigInt(String(value));
    else header[name] = typeof value === 'number' ? value : String(value);
  }
  const values: FeatureRowView['values'] = [];
  for (const column of featureColumns) {
    const value = row[column.name];
    if (value === null || value === undefined) continue;
    values.push({
      name: column.name,
      value:
        column.type === 'uint64'
          ? BigInt(String(value))
          : column.type === 'string'
            ? String(value)
            : Number(value),
      unit: column.unit,
    });
  }
  return { header, values, extra: extraOf(text(row.extra_json) || '[]') };
}

/**
 * Turns the rows of a table query into inspected messages. Pure.
 */
export function inspectRows(q: TableQuery, rows: readonly Row[], ctx: DecodeContext): InspectedMessage[] {
  const ordered = q.mode === 'last' ? [...rows].reverse() : rows;
  return ordered.map((row) => {
    const origin = originOf(q, row);
    if (q.table === 'raw_envelopes') {
      const message = inspectMessage(origin, bytesOf(row), 'envelope', ctx);
      message.mismatches = rawMismatches(row, message);
      return message;
    }
    if (q.table === 'dlq') {
      const letter: DeadLetterView = {
        reason: text(row.reason),
        message: text(row.message),
        sourceTopic: text(row.source_topic),
        sourcePartition: Number(row.source_partition),
        sourceOffset: text(row.source_offset),
        sourceKey: text(row.source_key),
        rejectedAtMs: Number(row.rejected_at_ms),
      };
      return inspectMessage(origin, bytesOf(row), 'dead_letter', ctx, letter);
    }
    const featureRow = featureRowFromColumns(row);
    return {
      origin,
      kind: MessageKind.FeatureRow,
      valueBytes: null,
      wire: undefined,
      bare: false,
      envelope: undefined,
      featureRow,
      problems: [],
      preview: undefined,
      text: ctx.full
        ? Object.entries(row)
            .map(([k, v]) => `${k}: ${v === null ? 'NULL' : JSON.stringify(v)}`)
            .join('\n')
        : undefined,
      deadLetter: undefined,
      original: undefined,
      mismatches: [],
      valueHex: undefined,
    };
  });
}

/**
 * JSON.parse reviver that keeps integers beyond 2^53 exact, as their decimal text: ClickHouse 18.16
 * quotes UInt64 in JSON output, current releases (25.8+) write them as bare numbers, which
 * JSON.parse would round (nanosecond times, offsets, 64-bit counters).
 */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
    ? context.source
    : value;
}

/**
 * Runs a table query and inspects the rows.
 * @throws InputError when the table does not exist (the database was not migrated)
 */
export async function readTable(
  client: ClickHouseClient,
  q: TableQuery,
  ctx: DecodeContext,
): Promise<InspectedMessage[]> {
  const query = buildTableQuery(q);
  let rows: Row[];
  try {
    const text = await (await client.query({ query, format: 'JSONEachRow' })).text();
    rows = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line, exactIntegers) as Row);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/doesn't exist|does not exist|UNKNOWN_TABLE|UNKNOWN_DATABASE/i.test(message)) {
      throw new InputError(
        `table ${q.database}.${q.table} does not exist; run \`amoskys clickhouse migrate\` (${message.split('\n')[0]})`,
        { table: `${q.database}.${q.table}` },
        err,
      );
    }
    throw err;
  }
  return inspectRows(q, rows, ctx);
}
