/**
 * The pure parts of the two sources: which offsets a topic read covers, which records pass the
 * filters, the ClickHouse SQL (escaped, since 18.16 has no query parameters) and how stored rows
 * become inspected messages.
 */
import { describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../../../src/core/envelope/index.ts';
import { InputError } from '../../../../src/core/errors/index.ts';
import { featuresSchema } from '../../../../src/core/features/index.ts';
import { frame } from '../../../../src/core/registry/index.ts';
import {
  buildTableQuery,
  featureRowFromColumns,
  inspectRows,
  type KafkaRecord,
  keysOfValue,
  matchesRecord,
  planRead,
  type TableQuery,
} from '../../../../src/tools/inspect/index.ts';
import { envelopeFixture, featureFixture, fixtureTrust } from './helpers.ts';

const offsets = [
  { partition: 0, low: 0n, high: 10n },
  { partition: 1, low: 5n, high: 8n },
  { partition: 2, low: 0n, high: 0n },
];

describe('planRead', () => {
  it('reads every partition from its first offset by default', () => {
    expect(planRead('t', offsets, {})).toEqual([
      { partition: 0, start: 0n, end: 10n },
      { partition: 1, start: 5n, end: 8n },
      { partition: 2, start: 0n, end: 0n },
    ]);
  });

  it('clamps a start offset to what each partition holds', () => {
    expect(planRead('t', offsets, { startOffset: 6n })).toEqual([
      { partition: 0, start: 6n, end: 10n },
      { partition: 1, start: 6n, end: 8n },
      { partition: 2, start: 0n, end: 0n },
    ]);
    expect(planRead('t', offsets, { startOffset: 99n, partitions: [1] })).toEqual([
      { partition: 1, start: 8n, end: 8n },
    ]);
  });

  it('starts a tail read that many records before each end, never before the first offset', () => {
    expect(planRead('t', offsets, { tail: 4 })).toEqual([
      { partition: 0, start: 6n, end: 10n },
      { partition: 1, start: 5n, end: 8n },
      { partition: 2, start: 0n, end: 0n },
    ]);
  });

  it('refuses a partition the topic does not have, naming the ones it has', () => {
    expect(() => planRead('t', offsets, { partitions: [7] })).toThrow(InputError);
    expect(() => planRead('t', offsets, { partitions: [7] })).toThrow(
      'topic t has no partition 7; it has 0, 1, 2',
    );
  });
});

const record = (key: string | null, value: Uint8Array | null): KafkaRecord => ({
  topic: 't',
  partition: 0,
  offset: '0',
  timestampMs: 0,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: {},
});

describe('record filters', () => {
  const envelope = frame(1, envelopeSchema.messageIndexes, envelopeFixture('snmp-ok'));
  const row = frame(2, featuresSchema.messageIndexes, featureFixture('snmpd-rates'));

  it('reads device and idempotency key from envelopes and feature rows', () => {
    expect(keysOfValue(envelope)).toEqual({ deviceId: 'router-1', idempotencyKey: 'router-1/60/29932440' });
    expect(keysOfValue(row)).toEqual({ deviceId: 'router-1', idempotencyKey: 'router-1/60/29932441' });
    expect(keysOfValue(Uint8Array.of(1, 2, 3))).toEqual({});
  });

  it('matches on the record key first, on decoded values when there is no key', () => {
    expect(matchesRecord(record('router-1', envelope), { device: 'router-1' })).toBe(true);
    expect(matchesRecord(record('router-2', envelope), { device: 'router-1' })).toBe(false);
    expect(matchesRecord(record(null, envelope), { device: 'router-1' })).toBe(true);
    expect(matchesRecord(record(null, envelope), { device: 'router-2' })).toBe(false);
    expect(matchesRecord(record('router-1', envelope), { idempotencyKey: 'router-1/60/29932440' })).toBe(
      true,
    );
    expect(matchesRecord(record('router-1', envelope), { idempotencyKey: 'router-1/60/1' })).toBe(false);
    expect(matchesRecord(record('x', null), {})).toBe(true);
  });
});

const query = (overrides: Partial<TableQuery> = {}): TableQuery => ({
  database: 'amoskys',
  table: 'raw_envelopes',
  limit: 10,
  mode: 'first',
  ...overrides,
});

describe('buildTableQuery', () => {
  it('reads raw envelopes with FINAL, bytes as hex, oldest first', () => {
    const sql = buildTableQuery(query());
    expect(sql).toContain('hex(bytes) AS bytes_hex');
    expect(sql).toContain('FROM amoskys.raw_envelopes FINAL');
    expect(sql).toContain('ORDER BY slot_start ASC, idempotency_key ASC');
    expect(sql).toMatch(/LIMIT 10$/);
    expect(sql).not.toContain('WHERE');
  });

  it('escapes every value it puts into the SQL', () => {
    const sql = buildTableQuery(
      query({ device: "o'brien\\", idempotencyKey: "k'1", partition: 3, startOffset: 42n }),
    );
    expect(sql).toContain(
      "WHERE device_id = 'o\\'brien\\\\' AND idempotency_key = 'k\\'1' AND kafka_partition = 3 AND kafka_offset >= 42",
    );
  });

  it('filters dead letters on the source key and on key bytes, newest first with --last', () => {
    const sql = buildTableQuery(
      query({ table: 'dlq', device: 'd1', idempotencyKey: 'd1/60/5', mode: 'last' }),
    );
    expect(sql).toContain("WHERE source_key = 'd1' AND position(bytes, 'd1/60/5') > 0");
    expect(sql).toContain(
      'ORDER BY rejected_at_ms DESC, source_topic DESC, source_partition DESC, source_offset DESC',
    );
  });

  it('refuses a database name that is not an identifier', () => {
    expect(() => buildTableQuery(query({ database: 'x; DROP' }))).toThrow(RangeError);
  });
});

describe('inspectRows', () => {
  const ctx = { trust: fixtureTrust(), nowMs: Date.UTC(2026, 10, 29, 12) };
  const value = frame(9, envelopeSchema.messageIndexes, envelopeFixture('snmp-ok'));
  const rawRow = {
    idempotency_key: 'router-1/60/29932440',
    device_id: 'router-1',
    slot_start_ns: '1795946400000000000',
    envelope_ts_ns: '1795946402400000000',
    signing_key_id: 'fixture-key-1',
    envelope_version: 1,
    metric_count: 8,
    bytes_hex: Buffer.from(value).toString('hex').toUpperCase(),
    kafka_topic: 'amoskys.telemetry.raw.v1',
    kafka_partition: 4,
    kafka_offset: '17',
    inserted_at: '2026-11-29 10:00:03',
  };

  it('decodes the stored bytes like a Kafka record and checks the stored columns against them', () => {
    const [ok] = inspectRows(query(), [rawRow], ctx);
    expect(ok?.origin).toMatchObject({
      source: 'clickhouse',
      table: 'raw_envelopes',
      kafkaPartition: 4,
      kafkaOffset: '17',
    });
    expect(ok?.wire).toMatchObject({ ok: true, schemaId: 9 });
    expect(ok?.envelope?.signature.status).toBe('verified');
    expect(ok?.mismatches).toEqual([]);
    const [bad] = inspectRows(query(), [{ ...rawRow, metric_count: 7 }], ctx);
    expect(bad?.mismatches).toEqual(['metric_count: stored 7, the bytes say 8']);
  });

  it('returns --last rows oldest first', () => {
    const rows = inspectRows(
      query({ mode: 'last' }),
      [
        { ...rawRow, kafka_offset: '2' },
        { ...rawRow, kafka_offset: '1' },
      ],
      ctx,
    );
    expect(rows.map((r) => (r.origin.source === 'clickhouse' ? r.origin.kafkaOffset : ''))).toEqual([
      '1',
      '2',
    ]);
  });

  it('shows a dlq row’s reason from its columns and decodes its bytes', () => {
    const [letter] = inspectRows(
      query({ table: 'dlq' }),
      [
        {
          reason: 'unknown_key',
          message: 'key "x" is not in the trust store',
          source_topic: 'raw',
          source_partition: 1,
          source_offset: '9',
          source_key: 'router-1',
          bytes_hex: Buffer.from(value).toString('hex'),
          rejected_at_ms: '1795946403000',
          kafka_topic: 'dlq',
          kafka_partition: 0,
          kafka_offset: '3',
          inserted_at: '2026-11-29 10:00:04',
        },
      ],
      ctx,
    );
    expect(letter?.kind).toBe('dead_letter');
    expect(letter?.deadLetter).toMatchObject({
      reason: 'unknown_key',
      sourceOffset: '9',
      rejectedAtMs: 1_795_946_403_000,
    });
    expect(letter?.original?.envelope?.device?.id).toBe('router-1');
  });

  it('reads a features row from its columns: UInt64 exact, NULL left out, extra parsed', () => {
    const view = featureRowFromColumns({
      device_id: 'd1',
      idempotency_key: 'd1/60/1',
      slot_start_ns: '60000000000',
      observed_at_ns: '60000000001',
      envelope_ts_ns: '60000000002',
      signing_key_id: 'k',
      interval_s: 60,
      poll_state: 'ok',
      poll_reason: '',
      poll_duration_ms: 5,
      poll_varbinds_requested: 3,
      poll_varbinds_received: 3,
      poll_bytes_collected: '900',
      rate_state: 'first_sample',
      previous_observed_at_ns: null,
      sys_uptime: 123,
      if_hc_in_octets: '18446744073709551615',
      sys_descr: null,
      extra_json: JSON.stringify([
        // As the sink writes it (src/sinks/clickhouse/rows.ts extraJson): counters as exact strings.
        {
          name: 'if_in_errors',
          labels: { ifIndex: '2' },
          value: '7',
          counter_bits: 32,
          per_second: 0.5,
          unit: 'packets',
          oid: '1.3',
        },
        {
          name: 'if_descr',
          labels: [{ key: 'ifIndex', value: '3' }],
          value: 'eth1',
          per_second: null,
          unit: '',
          oid: '1.4',
        },
      ]),
    });
    expect(view.header).toMatchObject({
      slot_start_ns: 60_000_000_000n,
      previous_observed_at_ns: null,
      interval_s: 60,
    });
    expect(view.values.find((v) => v.name === 'if_hc_in_octets')?.value).toBe(18_446_744_073_709_551_615n);
    expect(view.values.find((v) => v.name === 'sys_descr')).toBeUndefined();
    expect(view.extra).toEqual([
      { name: 'if_in_errors', labels: 'ifIndex=2', value: '7', perSecond: 0.5, unit: 'packets', oid: '1.3' },
      { name: 'if_descr', labels: 'ifIndex=3', value: '"eth1"', perSecond: null, unit: '', oid: '1.4' },
    ]);
  });
});
