/**
 * ClickHouse side of `amoskys analyze`: what is stored for the window, scoped to this pipeline's
 * topics (`features` rows read from `topics.features`, `raw_envelopes` rows and dead letters from
 * `topics.raw`), so two pipelines sharing a database do not reconcile against each other.
 * Tables are read with FINAL and the window in WHERE (each key once; 18.16 does not push a view's
 * WHERE into it). Sizes and counts are aggregated by the server; per-key rows come back only
 * for the keys of the window. SQL is built with sqlString; 18.16 has no query parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlString } from '../../core/clickhouse/index.ts';
import type { TimeWindow } from '../timeline/index.ts';
import { COMPLETENESS_FEATURES } from './completeness.ts';
import type { PartitionRange } from './topic.ts';
import type { DeadLetter, EnvelopeSizes, FeatureCounts, MetricNameSeen } from './types.ts';

/** Which rows belong to the analysis. */
export interface StoredScope {
  readonly database: string;
  readonly window: TimeWindow;
  /** Topic `features` rows were read from (`topics.features`). */
  readonly featuresTopic: string;
  /** Topic of `raw_envelopes` rows and of dead letters' sources (`topics.raw`). */
  readonly rawTopic: string;
  readonly deviceId?: string | undefined;
}

const n = (v: unknown) => Number(v);

function where(scope: StoredScope, timeColumn: string, topic: string): string {
  const { startS, endS } = scope.window;
  const device = scope.deviceId === undefined ? '' : ` AND device_id = ${sqlString(scope.deviceId)}`;
  return `${timeColumn} >= toDateTime(${Math.max(0, startS)}) AND ${timeColumn} < toDateTime(${endS}) AND kafka_topic = ${sqlString(topic)}${device}`;
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Stored envelopes of the window: sizes per key, joined here (no JOIN: it differs between versions). */
export async function readEnvelopeSizes(
  client: ClickHouseClient,
  scope: StoredScope,
): Promise<{
  /** One entry per key in `features`. */
  envelopes: EnvelopeSizes[];
  featureKeys: Set<string>;
  rawKeys: Set<string>;
}> {
  const db = scope.database;
  const features = await rows<{ k: string; d: string; st: string; c: string }>(
    client,
    `SELECT idempotency_key AS k, toString(device_id) AS d, toString(poll_state) AS st, poll_bytes_collected AS c
     FROM ${db}.features FINAL WHERE ${where(scope, 'slot_start', scope.featuresTopic)}`,
  );
  const raw = await rows<{ k: string; b: string; m: number }>(
    client,
    `SELECT idempotency_key AS k, length(bytes) AS b, metric_count AS m
     FROM ${db}.raw_envelopes FINAL WHERE ${where(scope, 'slot_start', scope.rawTopic)}`,
  );
  // Metrics carry the raw topic's coordinates; counted per key for the keys of the window only.
  const metrics = await rows<{ k: string; n: string }>(
    client,
    `SELECT idempotency_key AS k, count() AS n FROM ${db}.metrics FINAL
     WHERE ${where(scope, 'ts', scope.rawTopic)} GROUP BY idempotency_key`,
  );
  const rawByKey = new Map(raw.map((r) => [r.k, r]));
  const metricRows = new Map(metrics.map((r) => [r.k, n(r.n)]));
  return {
    envelopes: features.map((f) => {
      const r = rawByKey.get(f.k);
      return {
        idempotencyKey: f.k,
        deviceId: f.d,
        pollState: f.st,
        collectedBytes: n(f.c),
        storedBytes: r === undefined ? null : n(r.b),
        metricCount: r === undefined ? null : n(r.m),
        metricRows: metricRows.get(f.k) ?? 0,
      };
    }),
    featureKeys: new Set(features.map((f) => f.k)),
    rawKeys: new Set(raw.map((r) => r.k)),
  };
}

/** Dead letters whose source is in the offsets read. */
export async function readDeadLetters(
  client: ClickHouseClient,
  database: string,
  rawTopic: string,
  ranges: readonly PartitionRange[],
): Promise<DeadLetter[]> {
  const read = ranges.filter((r) => r.end > r.start);
  if (read.length === 0) return [];
  const coordinates = read
    .map(
      (r) =>
        `(source_partition = ${r.partition} AND source_offset >= ${r.start} AND source_offset < ${r.end})`,
    )
    .join(' OR ');
  const letters = await rows<{ p: number; o: string; r: string }>(
    client,
    `SELECT source_partition AS p, toString(source_offset) AS o, toString(reason) AS r
     FROM ${database}.dlq FINAL WHERE source_topic = ${sqlString(rawTopic)} AND (${coordinates})`,
  );
  return letters.map((l) => ({ partition: n(l.p), offset: BigInt(l.o), reason: l.r }));
}

/** Per device: rows, answered rows, and per named feature the answered rows where it is not NULL. */
export async function readFeatureCounts(
  client: ClickHouseClient,
  scope: StoredScope,
): Promise<FeatureCounts[]> {
  const answered = `poll_state IN ('ok', 'partial')`;
  const columns = COMPLETENESS_FEATURES.map(
    (name, i) => `countIf(${answered} AND isNotNull(${name})) AS f${i}`,
  );
  const result = await rows<Record<string, string>>(
    client,
    `SELECT toString(device_id) AS device, count() AS polls, countIf(${answered}) AS answered, ${columns.join(', ')}
     FROM ${scope.database}.features FINAL WHERE ${where(scope, 'slot_start', scope.featuresTopic)}
     GROUP BY device`,
  );
  return result.map((r) => ({
    deviceId: r.device as string,
    polls: n(r.polls),
    answered: n(r.answered),
    present: Object.fromEntries(COMPLETENESS_FEATURES.map((name, i) => [name, n(r[`f${i}`])])),
  }));
}

/** Metric names stored in the window, with rows, devices and envelopes. */
export async function readMetricNames(
  client: ClickHouseClient,
  scope: StoredScope,
): Promise<MetricNameSeen[]> {
  const result = await rows<{ name: string; rows: string; devices: string; envelopes: string }>(
    client,
    `SELECT toString(metric_name) AS name, count() AS rows, uniqExact(device_id) AS devices,
       uniqExact(idempotency_key) AS envelopes
     FROM ${scope.database}.metrics FINAL WHERE ${where(scope, 'ts', scope.rawTopic)}
     GROUP BY name ORDER BY name`,
  );
  return result.map((r) => ({
    name: r.name,
    rows: n(r.rows),
    devices: n(r.devices),
    envelopes: n(r.envelopes),
  }));
}
