/**
 * `amoskys analyze`, assembled: the topic's end offsets first (a fixed snapshot of what was
 * produced), then what ClickHouse stored, then every message up to those offsets classified as it
 * streams in. Taking the offsets before reading ClickHouse means a message produced during the
 * run is never counted as lost; a message produced before the run but not yet processed is
 * (pipeline lag), hence the advice to end the window a few minutes back (docs/operations.md).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { sqlString } from '../../core/clickhouse/index.ts';
import type { Config } from '../../core/config/index.ts';
import { InputError } from '../../core/errors/index.ts';
import { ALL_TIME, type TimeWindow } from '../timeline/index.ts';
import { analyzeBytes, DEFAULT_MIN_STORED_RATIO } from './bytes.ts';
import { analyzeCompleteness } from './completeness.ts';
import {
  readDeadLetters,
  readEnvelopeSizes,
  readFeatureCounts,
  readMetricNames,
  type StoredScope,
} from './query.ts';
import { parseIdempotencyKey, Reconciler } from './reconcile.ts';
import { withVerdict } from './report.ts';
import { readRawTopic, topicRanges } from './topic.ts';
import type { AnalyzeReport } from './types.ts';

/**
 * How long before the window start the topic is read from, s: a message's Kafka timestamp is
 * taken when the producer sends it, after its slot started, but clocks of producer hosts and
 * brokers can disagree by a little.
 */
export const TOPIC_START_MARGIN_S = 600;

/** Options of {@link runAnalyze}. */
export interface RunAnalyzeOptions {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly clickhouse: ClickHouseClient;
  /** @default ALL_TIME */
  readonly window?: TimeWindow;
  readonly deviceId?: string | undefined;
  /** Threshold of the low-ratio alarm. @default 0.5 */
  readonly minStoredRatio?: number;
  /** Lost messages, not-on-topic keys and alarms listed. @default 20 */
  readonly sampleSize?: number;
  /** Called as the topic is read: messages so far, messages to read. */
  readonly onProgress?: (read: number, total: number) => void;
  /** Give up reading the topic when nothing advanced for this long, ms. @default 60000 */
  readonly idleTimeoutMs?: number;
}

/** Runs the whole analysis; the report's exitCode says whether it passed. */
export async function runAnalyze(options: RunAnalyzeOptions): Promise<AnalyzeReport> {
  const { config, kafka, clickhouse } = options;
  const window = options.window ?? ALL_TIME;
  const rawTopic = config.topics.raw;
  const database = config.clickhouse.database;
  const sampleSize = options.sampleSize ?? 20;

  // The tables first: a ClickHouse that does not answer fails at once, before Kafka is asked.
  let exists: { n: string }[];
  try {
    exists = await (
      await clickhouse.query({
        query: `SELECT count() AS n FROM system.tables WHERE database = ${sqlString(database)} AND name IN ('features', 'raw_envelopes', 'metrics', 'dlq')`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
  } catch (err) {
    throw new Error(
      `ClickHouse at ${config.clickhouse.url}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  if (Number(exists[0]?.n) !== 4) {
    throw new InputError(
      `ClickHouse database ${database} lacks the AMOSKYS tables (clickhouse.database; run amoskys clickhouse migrate)`,
      { database },
    );
  }

  const admin = kafka.admin();
  await admin.connect();
  let ranges: Awaited<ReturnType<typeof topicRanges>>;
  try {
    const sinceMs = window.startS > 0 ? (window.startS - TOPIC_START_MARGIN_S) * 1000 : undefined;
    ranges = await topicRanges(admin, rawTopic, sinceMs);
  } finally {
    await admin.disconnect();
  }

  const scope: StoredScope = {
    database,
    window,
    featuresTopic: config.topics.features,
    rawTopic,
    deviceId: options.deviceId,
  };
  const sizes = await readEnvelopeSizes(clickhouse, scope);
  const deadLetters = await readDeadLetters(clickhouse, database, rawTopic, ranges);
  const reconciler = new Reconciler(
    { featureKeys: sizes.featureKeys, rawKeys: sizes.rawKeys, deadLetters },
    window,
    sampleSize,
  );
  const device = options.deviceId;
  await readRawTopic(
    kafka,
    rawTopic,
    ranges,
    (m) => {
      if (device !== undefined) {
        const of =
          (m.idempotencyKey === null ? null : parseIdempotencyKey(m.idempotencyKey)?.deviceId) ?? m.kafkaKey;
        if (of !== device) return;
      }
      reconciler.add(m);
    },
    {
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    },
  );

  return withVerdict({
    window,
    rawTopic,
    database,
    deviceId: device ?? null,
    partitions: ranges.map((r) => ({
      partition: r.partition,
      start: r.start.toString(),
      end: r.end.toString(),
    })),
    reconciliation: reconciler.result(),
    bytes: analyzeBytes(sizes.envelopes, options.minStoredRatio ?? DEFAULT_MIN_STORED_RATIO, sampleSize),
    completeness: analyzeCompleteness(await readFeatureCounts(clickhouse, scope)),
    metricNames: await readMetricNames(clickhouse, scope),
  });
}
