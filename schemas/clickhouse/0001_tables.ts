/**
 * Migration 1: the four tables of the archive and the analyst schema.
 *
 * Why TypeScript and not .sql: the wide `features` table is generated from the feature catalogue
 * (src/core/features/columns.ts), and a few types depend on the server (`modern`). A module that
 * renders statements from `{ database, capabilities }` is the smallest templating that does both,
 * type-checked, with no template language of its own. Rules: render() is pure; every name is
 * qualified with the database; only the capability flags may change the output.
 *
 * Deduplication (ClickHouse 18.16 has no insert_deduplication_token): every table is a
 * ReplacingMergeTree whose sorting key contains the idempotency key (dlq: the source coordinates)
 * and whose partition key is derived from values fixed by that key (the slot start), so all copies
 * of a row land in one partition and merges collapse them. The version column is the Kafka offset
 * of the copy, so which copy wins is deterministic (the latest offset), whatever the insert order.
 * Views read with FINAL (migration 2): analysts never see a copy, merged yet or not.
 *
 * Time: `DateTime` (seconds, UTC) for partitioning and grouping, plus the exact nanoseconds as
 * UInt64 on both variants; modern servers add a DateTime64(9) ALIAS computed from them.
 */
import type { Migration, RenderContext } from '../../src/core/clickhouse/migration.ts';
import { lowCardinalityString, sqlString, tableSettings } from '../../src/core/clickhouse/migration.ts';
import { type FeatureColumn, featureColumns } from '../../src/core/features/columns.ts';

/**
 * The highest feature field number this migration created a column for. A feature added later
 * must come with a new migration (ALTER TABLE ... ADD COLUMN); editing this one would change its
 * checksum and `migrate` would refuse to run.
 */
export const FEATURE_FIELD_WATERMARK = 68;

const chType: Record<FeatureColumn['type'], string> = {
  string: 'Nullable(String)',
  double: 'Nullable(Float64)',
  uint64: 'Nullable(UInt64)',
  uint32: 'Nullable(UInt32)',
};

/** The feature columns of the wide table, as created by this migration. */
export function featureColumnDdl(columns: readonly FeatureColumn[]): string[] {
  return columns
    .filter((c) => c.field <= FEATURE_FIELD_WATERMARK)
    .map((c) => {
      const comment = c.unit === '' ? c.description : `${c.description} [${c.unit}]`;
      return `${c.name} ${chType[c.type]} COMMENT ${sqlString(comment)}`;
    });
}

function preciseAlias(ctx: RenderContext, name: string, nsColumn: string): string[] {
  return ctx.capabilities.modern
    ? [`${name} DateTime64(9, 'UTC') ALIAS fromUnixTimestamp64Nano(toInt64(${nsColumn}))`]
    : [];
}

function table(
  ctx: RenderContext,
  name: string,
  columns: readonly string[],
  engine: { version: string; partition: string; order: string },
): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${ctx.database}.${name}`,
    `(`,
    columns.map((c) => `    ${c}`).join(',\n'),
    `)`,
    `ENGINE = ReplacingMergeTree(${engine.version})`,
    `PARTITION BY ${engine.partition}`,
    `ORDER BY ${engine.order}`,
    tableSettings(ctx.capabilities),
  ].join('\n');
}

export const migration: Migration = {
  version: 1,
  name: 'tables',
  render(ctx) {
    const lc = lowCardinalityString(ctx.capabilities);
    const kafka = (what: string) => [
      `kafka_topic ${lc} COMMENT ${sqlString(`topic the ${what} was read from`)}`,
      `kafka_partition UInt32`,
      `kafka_offset UInt64 COMMENT 'offset of this copy; the ReplacingMergeTree version: the latest copy wins'`,
    ];
    const insertedAt = `inserted_at DateTime DEFAULT now() COMMENT 'when the sink inserted this copy (UTC, s)'`;

    const raw = table(
      ctx,
      'raw_envelopes',
      [
        `idempotency_key String COMMENT '<device_id>/<interval_s>/<slot>: one poll slot of one device'`,
        `device_id ${lc}`,
        `slot_start DateTime COMMENT 'start of the poll slot (UTC, s); partition key'`,
        `slot_start_ns UInt64 COMMENT 'start of the poll slot, ns since the epoch (DeviceTelemetry.timestamp_ns)'`,
        ...preciseAlias(ctx, 'slot_start_time', 'slot_start_ns'),
        `envelope_ts_ns UInt64 COMMENT 'UniversalEnvelope.ts_ns: when the envelope was built, ns'`,
        `signing_key_id ${lc}`,
        `envelope_version UInt32`,
        `metric_count UInt32 COMMENT 'metric events in the envelope'`,
        `bytes String COMMENT 'the Kafka message value exactly as received (wire format included): the archive'`,
        ...kafka('envelope'),
        insertedAt,
      ],
      {
        version: 'kafka_offset',
        partition: 'toYYYYMM(slot_start)',
        order: '(device_id, slot_start, idempotency_key)',
      },
    );

    const metrics = table(
      ctx,
      'metrics',
      [
        `idempotency_key String COMMENT 'envelope the metric came from'`,
        `device_id ${lc}`,
        `ts DateTime COMMENT 'start of the poll slot (UTC, s): identical for every copy of the envelope'`,
        `observed_at_ns UInt64 COMMENT 'when the value was read, ns since the epoch'`,
        ...preciseAlias(ctx, 'observed_at', 'observed_at_ns'),
        `metric_name ${lc}`,
        `value_numeric Nullable(Float64) COMMENT 'numeric values; NULL for strings and counters'`,
        `value_string String COMMENT 'string values; empty otherwise'`,
        `counter_value Nullable(UInt64) COMMENT 'raw counter; NULL unless a counter'`,
        `counter_bits UInt8 COMMENT '32 or 64 for counters, 0 otherwise'`,
        `unit ${lc}`,
        `oid String COMMENT 'numeric dotted OID, instance included'`,
        `label_keys Array(String) COMMENT 'index label names of a table row, in profile order'`,
        `label_values Array(String) COMMENT 'index label values, parallel to label_keys'`,
        ...kafka('envelope'),
        insertedAt,
      ],
      {
        version: 'kafka_offset',
        partition: 'toYYYYMM(ts)',
        order: '(device_id, metric_name, ts, oid, idempotency_key)',
      },
    );

    const features = table(
      ctx,
      'features',
      [
        `idempotency_key String`,
        `device_id ${lc}`,
        `slot_start DateTime COMMENT 'start of the poll slot (UTC, s); partition key'`,
        `slot_start_ns UInt64`,
        ...preciseAlias(ctx, 'slot_start_time', 'slot_start_ns'),
        `observed_at_ns UInt64 COMMENT 'when the values were read (poll start), ns'`,
        `envelope_ts_ns UInt64`,
        `signing_key_id ${lc}`,
        `interval_s UInt32 COMMENT 'poll interval of the device, s'`,
        `poll_state ${lc} COMMENT 'ok | partial | unreachable | auth_failed | error | unknown'`,
        `poll_reason String`,
        `poll_duration_ms UInt32`,
        `poll_varbinds_requested UInt32`,
        `poll_varbinds_received UInt32`,
        `poll_bytes_collected UInt64 COMMENT 'bytes of SNMP responses'`,
        `rate_state ${lc} COMMENT 'ok | first_sample | agent_restart | gap | out_of_order | unknown'`,
        `previous_observed_at_ns Nullable(UInt64) COMMENT 'sample the rates were derived against; NULL without rates'`,
        ...featureColumnDdl(featureColumns),
        `extra_json String DEFAULT '[]' COMMENT 'values no named column holds exactly: JSON array of {name, labels, value, per_second, unit, oid}'`,
        ...kafka('feature row'),
        insertedAt,
      ],
      {
        version: 'kafka_offset',
        partition: 'toYYYYMM(slot_start)',
        order: '(device_id, slot_start, idempotency_key)',
      },
    );

    const dlq = table(
      ctx,
      'dlq',
      [
        `reason ${lc} COMMENT 'RejectReason (src/processors/telemetry/types.ts)'`,
        `message String COMMENT 'why, for people'`,
        `source_topic ${lc}`,
        `source_partition UInt32`,
        `source_offset UInt64`,
        `source_key String COMMENT 'Kafka key of the rejected message (device id), UTF-8'`,
        `bytes String COMMENT 'the rejected message value exactly as received'`,
        `rejected_at DateTime COMMENT 'when the processor rejected it (UTC, s)'`,
        `rejected_at_ms UInt64 COMMENT 'the same, ms since the epoch'`,
        ...kafka('dead letter'),
        insertedAt,
      ],
      {
        // A replay of the raw topic rejects the same message again, later: the source
        // coordinates identify it, rejected_at does not, so it cannot be the partition key.
        version: 'kafka_offset',
        partition: 'tuple()',
        order: '(source_topic, source_partition, source_offset)',
      },
    );

    return [raw, metrics, features, dlq];
  },
};
