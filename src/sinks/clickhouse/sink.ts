/**
 * The ClickHouse sink stage.
 *
 * Consumes: the raw, features and DLQ topics (config `topics.*`) as consumer group `sink.groupId`,
 *   read_committed (the processor writes features and dead letters in transactions).
 * Produces: rows in `<clickhouse.database>`: raw_envelopes + metrics (one row per verified raw
 *   envelope + one per metric), features (one per feature row), dlq (one per dead letter).
 * Delivery: at least once into the tables, exactly once as the analyst views show it. A batch is
 *   a contiguous offset range of one partition, cut deterministically (batch.ts), one ClickHouse
 *   block of one table partition per insert; the offset is committed only after every insert of
 *   the batch was acknowledged. A batch that is sent again (a retry, a restart after SIGKILL, a
 *   replay) holds the same rows: ReplacingMergeTree keyed on the idempotency key (dlq: source
 *   coordinates) and views reading FINAL collapse the copies, and current servers drop the repeat
 *   outright by its insert_deduplication_token.
 * Idempotency key: the envelope's `<device_id>/<interval_s>/<slot>`; for dead letters the source
 *   topic, partition and offset.
 *
 * ClickHouse down or slow: the failing insert is retried with backoff for as long as it takes,
 * consumption of every topic is paused meanwhile and resumed after the first success. Nothing is
 * dropped and nothing is committed that ClickHouse has not acknowledged.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import pRetry from 'p-retry';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { capabilitiesFor, parseServerVersion } from '../../core/clickhouse/index.ts';
import type { Config } from '../../core/config/index.ts';
import type { TrustSnapshot } from '../../core/crypto/index.ts';
import { supervisedConsumer } from '../../core/kafka/index.ts';
import type { Logger } from '../../core/logging/index.ts';
import {
  BatchCutter,
  intentMetadata,
  monthPartitioner,
  type Plannable,
  parseIntentMetadata,
} from './batch.ts';
import {
  type DlqRecord,
  dlqColumns,
  dlqRecord,
  type FeatureRecord,
  featureRecord,
  featureTableColumns,
  type KeyResolver,
  metricColumns,
  type RawRecord,
  rawColumns,
  rawRecord,
  type Skip,
  snapshotResolver,
  writeDlq,
  writeFeature,
  writeRaw,
} from './rows.ts';
import { TsvWriter } from './tsv.ts';
import { type SinkStats, SinkTable } from './types.ts';
import { createWriter, type InsertBatch, insertErrorNeedsOperator, type Writer } from './writer.ts';

/** Options of {@link startSink}. */
export interface SinkOptions {
  config: Config;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  /** The trust store in force (e.g. `() => watcher.snapshot`): raw envelopes are verified against it. */
  trust: () => TrustSnapshot;
  logger: Logger;
  metrics: Registry;
  /** Partitions (of all three topics) handled at once. @default 6 */
  partitionsConsumedConcurrently?: number;
  /** Backoff of a failing insert, ms. @default { minMs: 250, maxMs: 5000 } */
  retry?: { minMs: number; maxMs: number };
  /** Called after each rebalance with the partitions this instance now owns (`topic:partition`). */
  onAssigned?: (partitions: readonly string[]) => void;
}

export interface SinkStage {
  stats(): SinkStats;
  /** Stops consuming after the batch in flight (a retrying insert is abandoned, uncommitted). Safe to call twice. */
  close(): Promise<void>;
}

type Role = 'raw' | 'features' | 'dlq';
type SinkRecord = RawRecord | FeatureRecord | DlqRecord | Skip;

/** What the server can do, asked once before the first insert. */
interface ServerFacts {
  deduplicationTokens: boolean;
  partitionOf: (seconds: number) => string;
}

export async function startSink(options: SinkOptions): Promise<SinkStage> {
  const { config, kafka, clickhouse, metrics } = options;
  const { groupId, batchRows, flushIntervalMs } = config.sink;
  const roles = new Map<string, Role>([
    [config.topics.raw, 'raw'],
    [config.topics.features, 'features'],
    [config.topics.dlq, 'dlq'],
  ]);
  const topics = [...roles.keys()];
  const log = options.logger.child({ component: 'sink', database: config.clickhouse.database });
  const resolve: KeyResolver = snapshotResolver(options.trust);
  const retry = options.retry ?? { minMs: 250, maxMs: 5000 };
  const stopping = new AbortController();

  const m = {
    messages: new Counter({
      name: 'amoskys_sink_messages_total',
      help: 'Messages whose rows ClickHouse acknowledged (or that produce none), committed',
      labelNames: ['topic', 'result'],
      registers: [metrics],
    }),
    rows: new Counter({
      name: 'amoskys_sink_rows_total',
      help: 'Rows acknowledged by ClickHouse',
      labelNames: ['table'],
      registers: [metrics],
    }),
    insertSeconds: new Histogram({
      name: 'amoskys_sink_insert_seconds',
      help: 'Duration of acknowledged inserts',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics],
    }),
    insertFailures: new Counter({
      name: 'amoskys_sink_insert_failures_total',
      help: 'Failed insert attempts (each is retried)',
      labelNames: ['table'],
      registers: [metrics],
    }),
    paused: new Gauge({
      name: 'amoskys_sink_paused',
      help: '1 while consumption is paused because ClickHouse does not accept inserts',
      registers: [metrics],
    }),
    lag: new Gauge({
      name: 'amoskys_sink_lag_messages',
      help: 'Messages behind the end of each partition',
      labelNames: ['topic', 'partition'],
      registers: [metrics],
    }),
    age: new Histogram({
      name: 'amoskys_sink_envelope_age_seconds',
      help: 'Age of raw envelopes (ts_ns) when their rows were acknowledged: poll to queryable row',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: [metrics],
    }),
  };
  const totals: SinkStats = {
    messages: { raw: 0, features: 0, dlq: 0 },
    rows: { raw_envelopes: 0, metrics: 0, features: 0, dlq: 0 },
    skipped: {},
    inserts: 0,
    insertFailures: 0,
    paused: false,
    partitions: [],
  };

  let server: ServerFacts | undefined;
  const serverFacts = async (): Promise<ServerFacts> => {
    if (server !== undefined) return server;
    const result = await clickhouse.query({
      query: 'SELECT version() AS v, timezone() AS tz',
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ v: string; tz: string }>();
    const version = parseServerVersion(row?.v ?? '');
    server = {
      deduplicationTokens: capabilitiesFor(version).modern,
      partitionOf: monthPartitioner(row?.tz || 'UTC'),
    };
    log.info(
      { server: version.raw, timezone: row?.tz, tokens: server.deduplicationTokens },
      'ClickHouse answered',
    );
    return server;
  };
  let writer: Writer | undefined;

  // Pause everything while any partition cannot insert; resume when none is failing.
  const failing = new Set<string>();
  const setFailing = (key: string, isFailing: boolean) => {
    const before = failing.size;
    if (isFailing) failing.add(key);
    else failing.delete(key);
    if (before === 0 && failing.size > 0) {
      consumer.current().pause(topics.map((topic) => ({ topic })));
      totals.paused = true;
      m.paused.set(1);
      log.warn('ClickHouse does not accept inserts: consumption paused, retrying');
    } else if (before > 0 && failing.size === 0) {
      consumer.current().resume(topics.map((topic) => ({ topic })));
      totals.paused = false;
      m.paused.set(0);
      log.info('ClickHouse accepts inserts again: consumption resumed');
    }
  };

  const insert = async (key: string, batch: InsertBatch, payload: EachBatchPayload): Promise<void> => {
    const attempt = async () => {
      const facts = await serverFacts();
      writer ??= createWriter({
        client: clickhouse,
        database: config.clickhouse.database,
        deduplicationTokens: facts.deduplicationTokens,
      });
      const started = performance.now();
      await writer(batch);
      m.insertSeconds.observe({ table: batch.table }, (performance.now() - started) / 1000);
    };
    await pRetry(attempt, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: retry.minMs,
      maxTimeout: retry.maxMs,
      randomize: true,
      signal: stopping.signal,
      onFailedAttempt: async ({ error, attemptNumber, retryDelay }) => {
        totals.insertFailures++;
        m.insertFailures.inc({ table: batch.table });
        setFailing(key, true);
        const level = insertErrorNeedsOperator(error) ? 'error' : 'warn';
        if (attemptNumber === 1 || attemptNumber % 10 === 0) {
          log[level](
            { err: error, table: batch.table, batch: batch.token, attemptNumber, retryDelay },
            'insert failed, retrying',
          );
        }
        // Keep the group membership while waiting; a rebalance ends the retry (the new owner redoes the batch).
        await payload.heartbeat();
      },
      shouldRetry: () => payload.isRunning() && !payload.isStale(),
    });
    setFailing(key, false);
  };

  const admin: Admin = kafka.admin();
  await admin.connect();
  /** Partitions whose recorded batch end was already looked up in this generation. */
  const intentChecked = new Set<string>();
  const recordedEnd = async (topic: string, partition: number, firstOffset: string) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const p = entry?.partitions.find((x) => x.partition === partition);
    return p !== undefined && p.offset === firstOffset ? parseIntentMetadata(p.metadata) : undefined;
  };

  // Commits of one partition in the order they were asked for: the commit past a transaction
  // marker (below) is started from an event handler and must not overtake a later one.
  const commitChains = new Map<string, Promise<void>>();
  const commit = (topic: string, partition: number, offset: string, metadata: string | null = null) => {
    const key = `${topic}:${partition}`;
    const next = (commitChains.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => consumer.current().commitOffsets([{ topic, partition, offset, metadata }]));
    commitChains.set(key, next);
    return next;
  };

  const toRecord = (role: Role, msg: KafkaMessage, topic: string, partition: number): SinkRecord => {
    const coordinates = { topic, partition, offset: msg.offset };
    if (role === 'raw') return rawRecord(msg.value, coordinates, resolve);
    if (role === 'features') return featureRecord(msg.value, coordinates);
    return dlqRecord(msg.value, msg.headers, msg.key, coordinates, Number(msg.timestamp));
  };

  const encode = (role: Role, records: readonly SinkRecord[], token: string): InsertBatch[] => {
    const out: InsertBatch[] = [];
    const add = (table: SinkTable, columns: readonly string[], w: TsvWriter) => {
      if (w.rows > 0)
        out.push({ table, columns, body: w.toBuffer(), rows: w.rows, token: `${token}/${table}` });
    };
    if (role === 'raw') {
      const raw = new TsvWriter();
      const metricRows = new TsvWriter();
      for (const r of records) if (r.kind === 'raw') writeRaw(r, raw, metricRows);
      add(SinkTable.Raw, rawColumns, raw);
      add(SinkTable.Metrics, metricColumns, metricRows);
    } else if (role === 'features') {
      const w = new TsvWriter();
      for (const r of records) if (r.kind === 'feature') writeFeature(r, w);
      add(SinkTable.Features, featureTableColumns, w);
    } else {
      const w = new TsvWriter();
      for (const r of records) if (r.kind === 'dlq') writeDlq(r, w);
      add(SinkTable.Dlq, dlqColumns, w);
    }
    return out;
  };

  /** Counts a committed batch. */
  const count = (
    role: Role,
    slice: readonly SinkRecord[],
    inserts: readonly InsertBatch[],
    topic: string,
    partition: number,
  ) => {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    totals.messages[role] += slice.length;
    totals.inserts += inserts.length;
    for (const b of inserts) {
      totals.rows[b.table as SinkTable] += b.rows;
      m.rows.inc({ table: b.table }, b.rows);
    }
    let skipped = 0;
    for (const r of slice) {
      if (r.kind === 'skip') {
        skipped++;
        totals.skipped[r.reason] = (totals.skipped[r.reason] ?? 0) + 1;
      } else if (r.kind === 'raw') {
        m.age.observe(Number(nowNs - r.envelope.header.tsNs) / 1e9);
      }
    }
    if (skipped > 0) {
      const example = slice.find((r): r is Skip => r.kind === 'skip');
      log.warn(
        {
          topic,
          partition,
          skipped,
          example: example && {
            offset: example.coordinates.offset,
            reason: example.reason,
            detail: example.detail,
          },
        },
        'raw messages without rows (not verified or outside the contract; the processor dead-letters them)',
      );
    }
    m.messages.inc({ topic: role, result: 'stored' }, slice.length - skipped);
    if (skipped > 0) m.messages.inc({ topic: role, result: 'skipped' }, skipped);
  };

  const handleBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    const { topic, partition } = batch;
    const role = roles.get(topic) as Role;
    const key = `${topic}:${partition}`;
    const messages = batch.messages;
    const facts = await pRetry(serverFacts, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: retry.minMs,
      maxTimeout: retry.maxMs,
      signal: stopping.signal,
      onFailedAttempt: async ({ error, attemptNumber }) => {
        setFailing(key, true);
        if (attemptNumber === 1 || attemptNumber % 10 === 0)
          log.warn({ err: error }, 'ClickHouse does not answer, retrying');
        await payload.heartbeat();
      },
      shouldRetry: () => payload.isRunning() && !payload.isStale(),
    });

    let firstEnd: number | undefined;
    if (!intentChecked.has(key)) {
      const end = await recordedEnd(topic, partition, (messages[0] as KafkaMessage).offset);
      intentChecked.add(key);
      if (end !== undefined) {
        const index = messages.findIndex((msg) => msg.offset === end);
        if (index >= 0) firstEnd = index;
        log.info(
          { topic, partition, from: messages[0]?.offset, to: end },
          'redoing the batch the previous owner recorded',
        );
      }
    }

    // Decode one batch at a time: memory follows sink.batchRows, not the size of a fetch.
    const flush = async (
      slice: readonly SinkRecord[],
      first: KafkaMessage,
      last: KafkaMessage,
      final: boolean,
    ) => {
      const inserts = encode(role, slice, `${topic}/${partition}/${first.offset}-${last.offset}`);
      if (inserts.length > 0) {
        // Record where this batch ends before inserting it, so that whoever redoes it after a
        // crash cuts the very same batch (same rows, same deduplication token).
        await commit(topic, partition, first.offset, intentMetadata(last.offset));
        for (const b of inserts) await insert(key, b, payload);
      }
      // The last batch of a fetch also covers the transaction markers after its last message
      // (features and DLQ are transactional): they take offsets but are never delivered.
      const through = final ? batch.lastOffset() : last.offset;
      await commit(topic, partition, (BigInt(through) + 1n).toString());
      payload.resolveOffset(through);
      count(role, slice, inserts, topic, partition);
      await payload.heartbeat();
    };

    const cutter = new BatchCutter(batchRows, firstEnd);
    let slice: SinkRecord[] = [];
    let firstIndex = 0;
    for (const [i, msg] of messages.entries()) {
      const record = toRecord(role, msg, topic, partition);
      const plan: Plannable =
        record.kind === 'skip'
          ? { rows: 0 }
          : record.kind === 'dlq'
            ? { rows: 1 }
            : { rows: record.rows, partition: facts.partitionOf(record.slotStartS) };
      if (cutter.next(plan)) {
        if (!payload.isRunning() || payload.isStale()) return;
        await flush(slice, messages[firstIndex] as KafkaMessage, messages[i - 1] as KafkaMessage, false);
        slice = [];
        firstIndex = i;
      }
      slice.push(record);
    }
    if (slice.length > 0 && payload.isRunning() && !payload.isStale()) {
      await flush(
        slice,
        messages[firstIndex] as KafkaMessage,
        messages[messages.length - 1] as KafkaMessage,
        true,
      );
    }
    m.lag.set({ topic: role, partition: String(partition) }, Number(batch.offsetLag()));
  };

  const consumer = supervisedConsumer({
    logger: log,
    create: () => {
      const c: Consumer = kafka.consumer({
        groupId,
        readUncommitted: false,
        allowAutoTopicCreation: false,
        sessionTimeout: 15_000,
        heartbeatInterval: 1_500,
        // Batching by time happens at the broker: a fetch waits up to flushIntervalMs for minBytes.
        minBytes: 1024 * 1024,
        maxWaitTimeInMs: flushIntervalMs,
        maxBytesPerPartition: 8 * 1024 * 1024,
      });
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        totals.partitions = Object.entries(payload.memberAssignment)
          .flatMap(([topic, parts]) => parts.map((p) => `${topic}:${p}`))
          .sort();
        intentChecked.clear();
        log.info({ partitions: totals.partitions }, 'partitions assigned');
        options.onAssigned?.(totals.partitions);
      });
      // The features and DLQ topics are written in transactions: each ends with a marker that takes an
      // offset but is never delivered. kafkajs moves past a fetch holding only markers (or aborted
      // records) by itself but commits that only in autoCommit mode; without this the committed offset
      // would stay one short of the end forever (a lag that never closes, a replay check never done).
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize !== 0 || !roles.has(payload.topic)) return;
        const offset = (BigInt(payload.lastOffset) + 1n).toString();
        commit(payload.topic, payload.partition, offset).catch((err: unknown) =>
          log.debug(
            { err, topic: payload.topic, partition: payload.partition },
            'commit past a transaction marker failed; the next one covers it',
          ),
        );
      });
      return c;
    },
    run: async (c) => {
      await c.connect();
      await c.subscribe({ topics, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 6,
        eachBatch: async (payload) => {
          if (payload.batch.isEmpty()) return;
          try {
            await handleBatch(payload);
          } catch (err) {
            if (stopping.signal.aborted) return;
            log.error(
              { err, topic: payload.batch.topic, partition: payload.batch.partition },
              'batch failed; it is redone from the committed offset',
            );
            throw err;
          }
        },
      });
    },
    // A new consumer is not paused: forget the failing partitions of the old one (a failing insert
    // is redone from the committed offset and pauses the new consumer again).
    onReplace: () => {
      failing.clear();
      totals.paused = false;
      m.paused.set(0);
    },
  });
  await consumer.start();
  log.info({ groupId, topics }, 'sink started');

  let closing: Promise<void> | undefined;
  return {
    stats: () => ({
      ...totals,
      messages: { ...totals.messages },
      rows: { ...totals.rows },
      skipped: { ...totals.skipped },
      partitions: [...totals.partitions],
    }),
    close: () => {
      closing ??= (async () => {
        stopping.abort();
        await consumer.close();
        await admin.disconnect();
        log.info({ messages: totals.messages, rows: totals.rows }, 'sink stopped');
      })();
      return closing;
    },
  };
}
