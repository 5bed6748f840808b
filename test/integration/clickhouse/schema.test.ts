/**
 * Migrations and analyst views against the real server (18.16 locally): migrate twice, insert
 * every fixture twice (a replay) and check that each view shows each key once, with correct
 * numbers, without OPTIMIZE.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../../schemas/clickhouse/index.ts';
import {
  createClickHouse,
  escapeTsvBytes,
  type Migration,
  migrate,
} from '../../../src/core/clickhouse/index.ts';
import { ClickHouseSchemaError } from '../../../src/core/errors/index.ts';
import { testConfig } from '../../helpers/config.ts';

const db = testConfig().clickhouse.database;
const tables = ['raw_envelopes', 'metrics', 'features', 'dlq'];
let client: ClickHouseClient;

const HOUR = 1_704_103_200; // 2024-01-01 10:00:00 UTC, s
const ns = (s: number) => (BigInt(s) * 1_000_000_000n).toString();
const key = (device: string, s: number) => `${device}/60/${s / 60}`;
const slots = [0, 60, 120, 180].map((d) => HOUR + d);

async function rows<T>(query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Every byte value, so the archive's exactness is checked. */
const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

async function insertRaw(): Promise<void> {
  const lines = slots.map((s, i) => {
    const fields = [key('d1', s), 'd1', String(s), ns(s), ns(s + 1), 'key-1', '1', '1'].map((f) =>
      Buffer.from(f),
    );
    return Buffer.concat([
      Buffer.from(`${fields.join('\t')}\t`),
      escapeTsvBytes(allBytes),
      Buffer.from(`\tamoskys.telemetry.raw.v1\t0\t${100 + i}\n`),
    ]);
  });
  await client.insert({
    table: `${db}.raw_envelopes`,
    format: 'TabSeparated',
    columns: [
      'idempotency_key',
      'device_id',
      'slot_start',
      'slot_start_ns',
      'envelope_ts_ns',
      'signing_key_id',
      'envelope_version',
      'metric_count',
      'bytes',
      'kafka_topic',
      'kafka_partition',
      'kafka_offset',
    ],
    values: Readable.from(lines, { objectMode: false }),
  });
}

async function insertJson(table: string, values: Record<string, unknown>[]): Promise<void> {
  await client.insert({ table: `${db}.${table}`, format: 'JSONEachRow', values });
}

const metricRows = slots.flatMap((s, i) => [
  {
    idempotency_key: key('d1', s),
    device_id: 'd1',
    ts: s,
    observed_at_ns: ns(s + 2),
    metric_name: 'load_avg_1min',
    value_numeric: i + 1, // 1, 2, 3, 4
    value_string: '',
    counter_value: null,
    counter_bits: 0,
    unit: '',
    oid: '1.3.6.1.4.1.2021.10.1.3.1',
    label_keys: [],
    label_values: [],
    kafka_topic: 'amoskys.telemetry.raw.v1',
    kafka_partition: 0,
    kafka_offset: 100 + i,
  },
  {
    idempotency_key: key('d1', s),
    device_id: 'd1',
    ts: s,
    observed_at_ns: ns(s + 2),
    metric_name: 'if_hc_in_octets',
    value_numeric: null,
    value_string: '',
    counter_value: (18446744073709551000n + BigInt(i)).toString(),
    counter_bits: 64,
    unit: 'bytes',
    oid: '1.3.6.1.2.1.31.1.1.1.6.2',
    label_keys: ['ifDescr'],
    label_values: ['eth0'],
    kafka_topic: 'amoskys.telemetry.raw.v1',
    kafka_partition: 0,
    kafka_offset: 100 + i,
  },
]);

const featureRows = slots.map((s, i) => ({
  idempotency_key: key('d1', s),
  device_id: 'd1',
  slot_start: s,
  slot_start_ns: ns(s),
  observed_at_ns: ns(s + 2),
  envelope_ts_ns: ns(s + 1),
  signing_key_id: 'key-1',
  interval_s: 60,
  poll_state: i === 3 ? 'partial' : 'ok',
  poll_reason: '',
  poll_duration_ms: 12,
  poll_varbinds_requested: 19,
  poll_varbinds_received: 19,
  poll_bytes_collected: 1165,
  rate_state: i === 0 ? 'first_sample' : 'ok',
  previous_observed_at_ns: i === 0 ? null : ns(s - 58),
  load_avg_1min: i + 1,
  if_hc_in_octets: '18446744073709551615',
  kafka_topic: 'amoskys.telemetry.features.v1',
  kafka_partition: 0,
  kafka_offset: 200 + i,
}));

const dlqRow = {
  reason: 'bad_signature',
  message: 'signature does not verify',
  source_topic: 'amoskys.telemetry.raw.v1',
  source_partition: 0,
  source_offset: 7,
  source_key: 'd9',
  bytes: 'x',
  rejected_at: HOUR,
  rejected_at_ms: String(HOUR * 1000),
  kafka_topic: 'amoskys.telemetry.dlq.v1',
  kafka_partition: 0,
  kafka_offset: 3,
};

beforeAll(async () => {
  client = createClickHouse(testConfig(), { database: null });
});
afterAll(async () => {
  await client.close();
});

describe('clickhouse schema (real server)', () => {
  it('migrates, and a second run applies nothing', async () => {
    const first = await migrate(client, { database: db, migrations });
    expect(first.applied.map((m) => m.version)).toEqual([1, 2, 3]);
    const second = await migrate(client, { database: db, migrations });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual([1, 2, 3]);
    const recorded = await rows<{ version: number; variant: string; checksum: string }>(
      `SELECT version, variant, checksum FROM ${db}.schema_migrations FINAL ORDER BY version`,
    );
    expect(recorded.map((r) => r.version)).toEqual([1, 2, 3]);
    expect(recorded.map((r) => r.checksum)).toEqual(first.applied.map((m) => m.checksum));
    expect(recorded[0]?.variant).toBe(first.variant);
  });

  it('a replay (every insert twice) is visible once in every view', async () => {
    // No merges: the views alone must hide the copies.
    for (const t of tables) await client.command({ query: `SYSTEM STOP MERGES ${db}.${t}` });
    for (let copy = 0; copy < 2; copy++) {
      await insertRaw();
      await insertJson('metrics', metricRows);
      await insertJson('features', featureRows);
      await insertJson('dlq', [dlqRow]);
    }
    const count = async (from: string) =>
      Number((await rows<{ n: string }>(`SELECT count() AS n FROM ${db}.${from}`))[0]?.n);
    // The tables hold both copies (or fewer once merged); the views never more than one.
    expect([await count('raw_envelopes'), await count('metrics'), await count('features')]).toEqual([
      8, 16, 8,
    ]);
    for (const [view, n] of [
      ['v_raw_envelopes', 4],
      ['v_metrics', 8],
      ['v_features', 4],
      ['v_dlq', 1],
    ] as const) {
      expect(await count(view), view).toBe(n);
      const dup = await rows(
        `SELECT idempotency_key, metric_name, oid, count() AS c FROM ${db}.${view === 'v_dlq' ? 'v_metrics' : view}
         ${view === 'v_metrics' || view === 'v_dlq' ? '' : "ARRAY JOIN [''] AS metric_name, [''] AS oid"}
         GROUP BY idempotency_key, metric_name, oid HAVING c > 1`,
      );
      expect(dup, view).toEqual([]);
    }
    for (const t of tables) await client.command({ query: `SYSTEM START MERGES ${db}.${t}` });
  });

  it('keeps the original bytes exactly and UInt64 counters exactly', async () => {
    const [raw] = await rows<{ h: string; n: string }>(
      `SELECT hex(bytes) AS h, length(bytes) AS n FROM ${db}.v_raw_envelopes LIMIT 1`,
    );
    expect(Number(raw?.n)).toBe(256);
    expect(raw?.h).toBe(Buffer.from(allBytes).toString('hex').toUpperCase());
    const [f] = await rows<{ v: string }>(`SELECT if_hc_in_octets AS v FROM ${db}.v_features LIMIT 1`);
    expect(f?.v).toBe('18446744073709551615');
  });

  it('hourly rollup, latest value and collection health are right', async () => {
    const hourly = await rows<Record<string, unknown>>(
      `SELECT toString(hour) AS hour, samples, avg_value, min_value, max_value, p95_value
       FROM ${db}.v_metrics_hourly WHERE device_id = 'd1' AND metric_name = 'load_avg_1min'`,
    );
    expect(hourly).toHaveLength(1);
    expect(hourly[0]).toMatchObject({
      hour: '2024-01-01 10:00:00',
      avg_value: 2.5,
      min_value: 1,
      max_value: 4,
    });
    expect(Number(hourly[0]?.samples)).toBe(4);
    // quantile() interpolates: 3 + 0.85 × (4 - 3) for [1, 2, 3, 4].
    expect(hourly[0]?.p95_value).toBeCloseTo(3.85, 10);
    // Counters are not averaged.
    expect(await rows(`SELECT 1 FROM ${db}.v_metrics_hourly WHERE metric_name = 'if_hc_in_octets'`)).toEqual(
      [],
    );

    const latest = await rows<Record<string, unknown>>(
      `SELECT metric_name, value_numeric, counter_value, label_values, idempotency_key
       FROM ${db}.v_metrics_latest WHERE device_id = 'd1' ORDER BY metric_name`,
    );
    expect(latest).toEqual([
      {
        metric_name: 'if_hc_in_octets',
        value_numeric: null,
        counter_value: '18446744073709551003',
        label_values: ['eth0'],
        idempotency_key: key('d1', HOUR + 180),
      },
      {
        metric_name: 'load_avg_1min',
        value_numeric: 4,
        counter_value: null,
        label_values: [],
        idempotency_key: key('d1', HOUR + 180),
      },
    ]);

    const health = await rows<Record<string, unknown>>(
      `SELECT polls_seen, polls_expected, polls_ok, polls_failed, coverage, toString(last_seen) AS last_seen
       FROM ${db}.v_collection_health WHERE device_id = 'd1'`,
    );
    expect(health).toHaveLength(1);
    expect(Number(health[0]?.polls_seen)).toBe(4);
    expect(Number(health[0]?.polls_expected)).toBe(60);
    expect(Number(health[0]?.polls_ok)).toBe(3);
    expect(Number(health[0]?.polls_failed)).toBe(1);
    expect(health[0]?.coverage).toBeCloseTo(4 / 60, 10);
    expect(health[0]?.last_seen).toBe('2024-01-01 10:03:00');
  });

  it('refuses to run when an applied migration changed, naming it', async () => {
    const changed: Migration[] = migrations.map((m) =>
      m.version === 2
        ? { ...m, render: (c) => [...m.render(c), `CREATE VIEW IF NOT EXISTS ${db}.v_x AS SELECT 1`] }
        : m,
    );
    const err = await migrate(client, { database: db, migrations: changed }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseSchemaError);
    expect((err as Error).message).toMatch(/2 \(views\) changed after it was applied/);
    expect(await rows(`SELECT 1 FROM system.tables WHERE database = '${db}' AND name = 'v_x'`)).toEqual([]);
  });
});
