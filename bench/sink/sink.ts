/**
 * The ClickHouse sink against `clickhouse-client` inserting the very same rows in the same run
 * (DESIGN.md "Performance"; issue 5 item 6: goal >= 0.7).
 *
 *   node bench/sink/sink.ts [--envelopes 20000] [--runs 3] [--stage-batch-rows 10000,100000]
 *     [--stage-runs 1] [--concurrency N] [--stage-heap-mb N] [--log-level warn]
 *
 * Envelopes: the default SNMP profile's 29 metrics, one value each, from the recorded walk of
 * Debian snmpd (~2.7 KB framed), 50 devices, signed with one key and framed with the private raw
 * topic's schema id, as bench/processor builds them.
 *
 * 1. Encode + insert, `--runs` times, the median reported. The sink's own path, as its stage runs
 *    it for one partition: the messages cut by `planBatches` at `sink.batchRows` (configuration,
 *    default 100,000), each batch `rawRecord` (decode, verify the signature) -> `writeRaw` into two
 *    `TsvWriter`s -> `createWriter` inserts (HTTP, TabSeparated) into `raw_envelopes`, then `metrics`,
 *    of a private migrated database. Reference: `clickhouse-client` (native protocol, port
 *    `stack.clickhouseTcpPort`) inserting files that hold exactly the bytes the TsvWriters
 *    produced, one file per table, `INSERT INTO db.table (columns) FORMAT TabSeparated < file`;
 *    its process start is counted. Tables are truncated before each insert, sink and client take
 *    turns going first, and after each both tables are checked (row count and a hash of the
 *    contents) to hold the same data either way.
 * 2. The whole stage: the envelopes produced once (not timed) to a private 6-partition raw topic;
 *    then for each `--stage-batch-rows` setting a child process runs `startSink` (its own consumer
 *    group, stage defaults otherwise) into the truncated private database, timed from
 *    `startSink` until `stats()` says every message's rows were acknowledged and committed; the
 *    group join is reported apart. The child samples its RSS every 20 ms: peak RSS per setting.
 *
 * Needs the local stack (`amoskys stack up`): Kafka, the registry, ClickHouse, and clickhouse-client
 * on the PATH. The private database, topics, subjects and consumer groups are deleted at the end.
 * About a minute. Two cores shared with ClickHouse and the Kafka broker (and whatever else runs):
 * absolute rates move from run to run, hence the CPU notes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Registry } from 'prom-client';
import { migrations } from '../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate } from '../../src/core/clickhouse/index.ts';
import type { Config } from '../../src/core/config/index.ts';
import { loadConfig } from '../../src/core/config/index.ts';
import { type TrustStoreDocument, toTrustSnapshot } from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../src/core/metrics/index.ts';
import { monthPartitioner, planBatches } from '../../src/sinks/clickhouse/batch.ts';
import {
  createWriter,
  metricColumns,
  rawColumns,
  rawRecord,
  type SinkStats,
  snapshotResolver,
  startSink,
  TsvWriter,
  writeRaw,
} from '../../src/sinks/clickhouse/index.ts';
import type { RawRecord } from '../../src/sinks/clickhouse/rows.ts';
import { createPipeline } from '../../test/helpers/pipeline.ts';
import { framed, signedEnvelopes } from '../envelopes.ts';
import {
  intArg as arg,
  type BenchRow,
  type CoresUsed,
  cores,
  cpuMeter,
  logLevelArg,
  printTable,
  produceAll,
  requireStack,
  row,
  saveResults,
} from '../lib.ts';

const childEnv = 'AMOSKYS_BENCH_SINK_CHILD';
/** The stage made no progress for this long: it is stuck, not slow. */
const stallMs = 60_000;
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// ------------------------------------------------------------------------------------------
// CPU accounting (lib.ts: Linux /proc)

/** Server processes whose CPU is accounted apart (pids from `amoskys stack status`). */
let servers: { clickhouse?: number; kafka?: number } = {};

/** Wall time and CPU of `fn`: this process, the machine, ClickHouse, the broker. */
async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; wallS: number; processCores: number; cores: CoresUsed }> {
  const cpu = process.cpuUsage();
  const meter = cpuMeter(servers);
  const started = performance.now();
  const result = await fn();
  const wallS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { result, wallS, processCores: (used.user + used.system) / 1e6 / wallS, cores: meter(wallS) };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

// ------------------------------------------------------------------------------------------
// 2. The stage, in a child process (so that its RSS is the stage's alone)

/** What the parent hands the child. */
interface ChildInput {
  config: Config;
  trustStore: TrustStoreDocument;
  messages: number;
  logLevel: string;
  /** partitionsConsumedConcurrently; undefined: the stage's default. */
  concurrency?: number;
  /** --max-old-space-size of the child, MB; undefined: Node's default. */
  heapMb?: number;
}

/** What the child reports (one JSON line on stdout). */
interface ChildResult {
  batchRows: number;
  /** RSS right before startSink, bytes. */
  rssBeforeBytes: number;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
  /** startSink -> partitions assigned, s. */
  joinS: number;
  /** partitions assigned -> every message committed, s. */
  processS: number;
  /** startSink -> every message committed, s. */
  wholeS: number;
  cpuS: number;
  insertSeconds: { sum: number; count: number };
  stats: SinkStats;
}

async function histogram(metrics: Registry, name: string): Promise<{ sum: number; count: number }> {
  const values = (await metrics.getSingleMetric(name)?.get())?.values ?? [];
  const sum = (suffix: string) =>
    values
      .filter((v) => (v as { metricName?: string }).metricName === `${name}_${suffix}`)
      .reduce((total, v) => total + v.value, 0);
  return { sum: sum('sum'), count: sum('count') };
}

async function runChild(input: ChildInput): Promise<void> {
  const { config, messages } = input;
  const logger = createLogger({ level: input.logLevel as 'silent' });
  const snapshot = toTrustSnapshot(input.trustStore);
  const metrics = createMetricsRegistry('bench-sink');
  const clickhouse = createClickHouse(config);
  const kafka = createKafka(config, 'bench-sink', logger);
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 20);
  sample();
  const rssBeforeBytes = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const startedAt = performance.now();
  const sink = await startSink({
    config,
    kafka,
    clickhouse,
    trust: () => snapshot,
    logger,
    metrics,
    ...(input.concurrency === undefined ? {} : { partitionsConsumedConcurrently: input.concurrency }),
  });
  try {
    let assignedAt: number | undefined;
    let progress = -1;
    let progressAt = performance.now();
    for (;;) {
      const stats = sink.stats();
      const now = performance.now();
      if (assignedAt === undefined && stats.partitions.length > 0) assignedAt = now;
      if (stats.messages.raw >= messages) break;
      if (stats.messages.raw !== progress) {
        progress = stats.messages.raw;
        progressAt = now;
      } else if (now - progressAt > stallMs) {
        throw new Error(
          `the sink committed nothing for ${stallMs / 1000} s (${progress} of ${messages}): ${JSON.stringify(stats)}; ` +
            'run again with --log-level warn to see why',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const doneAt = performance.now();
    sample();
    const used = process.cpuUsage(cpu);
    const result: ChildResult = {
      batchRows: config.sink.batchRows,
      rssBeforeBytes,
      peakRssBytes: peakRss,
      peakHeapUsedBytes: peakHeap,
      joinS: ((assignedAt ?? doneAt) - startedAt) / 1000,
      processS: (doneAt - (assignedAt ?? startedAt)) / 1000,
      wholeS: (doneAt - startedAt) / 1000,
      cpuS: (used.user + used.system) / 1e6,
      insertSeconds: await histogram(metrics, 'amoskys_sink_insert_seconds'),
      stats: sink.stats(),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    clearInterval(sampler);
    await sink.close();
    await clickhouse.close();
  }
}

/** Runs the stage in a child process; resolves with its report. */
function stageInChild(input: ChildInput): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const heap = input.heapMb === undefined ? [] : [`--max-old-space-size=${input.heapMb}`];
    const child = spawn(process.execPath, [...heap, new URL(import.meta.url).pathname], {
      env: { ...process.env, [childEnv]: JSON.stringify(input) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`the stage child exited with ${signal ?? code}; output: ${out.slice(-500)}`));
        return;
      }
      resolve(JSON.parse(line) as ChildResult);
    });
  });
}

// ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const envelopeCount = arg('--envelopes', 20_000);
  const runs = arg('--runs', 3);
  const stageRuns = arg('--stage-runs', 1);
  /** The stage's partitionsConsumedConcurrently, for experiments; unset, its default (6) applies. */
  const concurrency = process.argv.includes('--concurrency') ? arg('--concurrency', 6) : undefined;
  /** A V8 old-space limit for the stage's process, MB: whether the stage runs in that much live memory. */
  const heapMb = process.argv.includes('--stage-heap-mb') ? arg('--stage-heap-mb', 256) : undefined;
  const stageBatchRowsAt = process.argv.indexOf('--stage-batch-rows');
  const stageBatchRows = (stageBatchRowsAt > 0 ? (process.argv[stageBatchRowsAt + 1] ?? '') : '10000,100000')
    .split(',')
    .map(Number);
  if (stageBatchRows.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 1_048_576)) {
    throw new Error('--stage-batch-rows takes comma-separated integers in 1..1048576');
  }
  const logLevel = logLevelArg();
  const deviceCount = 50;

  const { config: base } = loadConfig();
  servers = await requireStack(base, ['kafka', 'registry', 'clickhouse']);

  const id = randomBytes(3).toString('hex');
  const database = `${base.clickhouse.database}_bench_sink_${id}`;
  const workDir = mkdtempSync(path.join(tmpdir(), 'amoskys-bench-sink-'));
  const pipeline = await createPipeline(base, 'bench');
  const config: Config = { ...pipeline.config, clickhouse: { ...pipeline.config.clickhouse, database } };
  const admin = createClickHouse(config, { database: null });
  const groups: string[] = [];
  let client: ClickHouseClient | undefined;

  const teardown = async () => {
    await client?.close().catch(() => undefined);
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await admin.close().catch(() => undefined);
    if (groups.length > 0) {
      const kafkaAdmin = createKafka(config, 'bench-sink-cleanup').admin();
      await kafkaAdmin.connect().catch(() => undefined);
      await kafkaAdmin.deleteGroups(groups).catch(() => undefined);
      await kafkaAdmin.disconnect().catch(() => undefined);
    }
    await pipeline.teardown();
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    log('interrupted');
    void teardown().finally(() => process.exit(130));
  });

  const rows: BenchRow[] = [];
  const results: Record<string, unknown> = {
    envelopes: envelopeCount,
    devices: deviceCount,
    runs,
    concurrency: concurrency ?? 'stage default (6)',
    stageHeapMb: heapMb ?? 'Node default',
  };
  try {
    log(`private database ${database}, topics ${config.topics.raw} and siblings`);
    await migrate(admin, { database, migrations });
    client = createClickHouse(config);
    const db = client;
    const query = async <T>(sql: string) => (await db.query({ query: sql, format: 'JSONEachRow' })).json<T>();
    const [server] = await query<{ v: string; tz: string }>('SELECT version() AS v, timezone() AS tz');
    results.clickhouse = server;

    // ----------------------------------------------------------------------------------------
    // Envelopes

    log(`building and signing ${envelopeCount} envelopes (${deviceCount} devices)`);
    const built = await signedEnvelopes({ count: envelopeCount, devices: deviceCount });
    const { trustStore } = built;
    const snapshot = toTrustSnapshot(trustStore);
    const envelopes = framed(built.envelopes, pipeline.rawSchemaId);
    built.envelopes.length = 0;
    const values = envelopes.map((e) => e.value);
    const metricRows = envelopeCount * built.metricsPerEnvelope;
    results.metricsPerEnvelope = built.metricsPerEnvelope;
    results.envelopeBytes = values.reduce((sum, v) => sum + v.length, 0) / values.length;

    // ----------------------------------------------------------------------------------------
    // 1. Encode + insert vs clickhouse-client

    const batchRows = config.sink.batchRows;
    const writer = createWriter({ client: db, database, deduplicationTokens: false });
    const resolve = snapshotResolver(() => snapshot);
    const partitionOf = monthPartitioner(server?.tz || 'UTC');
    const at = (i: number) => ({ topic: config.topics.raw, partition: 0, offset: String(i) });
    // The batches of one partition holding every message, as the stage cuts them.
    const plan = planBatches(
      values.map((v, i) => {
        const r = rawRecord(v, at(i), resolve);
        if (r.kind !== 'raw') throw new Error(`envelope ${i} skipped: ${r.reason}: ${r.detail}`);
        return { rows: r.rows, partition: partitionOf(r.slotStartS) };
      }),
      batchRows,
    );
    results.batches = { batchRows, count: plan.length };

    const truncate = async () => {
      for (const table of ['raw_envelopes', 'metrics'])
        await db.command({ query: `TRUNCATE TABLE ${database}.${table}` });
    };
    /** Row count and an order-independent hash of what the tables hold. */
    const contents = async () => {
      const [raw] = await query<Record<string, string>>(
        `SELECT count() AS n, sum(length(bytes)) AS len, groupBitXor(cityHash64(idempotency_key, bytes, toString(slot_start), kafka_offset)) AS h FROM ${database}.raw_envelopes FINAL`,
      );
      const [metric] = await query<Record<string, string>>(
        `SELECT count() AS n, groupBitXor(cityHash64(idempotency_key, metric_name, oid, value_string, toString(ifNull(value_numeric, -1.5)), toString(ifNull(counter_value, 0)), counter_bits, arrayStringConcat(label_values, '|'), toString(observed_at_ns))) AS h FROM ${database}.metrics FINAL`,
      );
      return { raw, metric };
    };

    /** The sink's path for every batch: rawRecord -> writeRaw/TsvWriter -> insert raw, insert metrics. */
    const sinkPath = async () => {
      const spent = { recordS: 0, encodeS: 0, rawInsertS: 0, metricsInsertS: 0 };
      const bodies = { raw: [] as Buffer[], metrics: [] as Buffer[] };
      let t = performance.now();
      const lap = () => {
        const now = performance.now();
        const s = (now - t) / 1000;
        t = now;
        return s;
      };
      for (const span of plan) {
        t = performance.now();
        const records: RawRecord[] = [];
        for (let i = span.start; i < span.end; i++) {
          const r = rawRecord(values[i] as Buffer, at(i), resolve);
          if (r.kind === 'raw') records.push(r);
        }
        spent.recordS += lap();
        const raw = new TsvWriter();
        const metrics = new TsvWriter();
        for (const r of records) writeRaw(r, raw, metrics);
        const rawBody = raw.toBuffer();
        const metricsBody = metrics.toBuffer();
        spent.encodeS += lap();
        const token = `bench/${span.start}-${span.end}`;
        await writer({ table: 'raw_envelopes', columns: rawColumns, body: rawBody, rows: raw.rows, token });
        spent.rawInsertS += lap();
        await writer({
          table: 'metrics',
          columns: metricColumns,
          body: metricsBody,
          rows: metrics.rows,
          token,
        });
        spent.metricsInsertS += lap();
        bodies.raw.push(rawBody);
        bodies.metrics.push(metricsBody);
      }
      return { spent, bodies };
    };

    const clickhouseClient = (table: string, columns: readonly string[], file: string) =>
      new Promise<number>((resolveRun, rejectRun) => {
        const host = new URL(config.clickhouse.url).hostname;
        const args = [
          '--host',
          host,
          '--port',
          String(config.stack.clickhouseTcpPort),
          '--user',
          config.clickhouse.username,
          ...(config.clickhouse.password === '' ? [] : ['--password', config.clickhouse.password]),
          '--query',
          `INSERT INTO ${database}.${table} (${columns.join(', ')}) FORMAT TabSeparated`,
        ];
        const input = openSync(file, 'r');
        const started = performance.now();
        const child = spawn('clickhouse-client', args, { stdio: [input, 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('error', (err) => {
          closeSync(input);
          rejectRun(err);
        });
        child.on('exit', (code) => {
          const s = (performance.now() - started) / 1000;
          closeSync(input);
          if (code === 0) resolveRun(s);
          else rejectRun(new Error(`clickhouse-client exited with ${code}: ${stderr.trim()}`));
        });
      });

    const files = {
      raw: path.join(workDir, 'raw_envelopes.tsv'),
      metrics: path.join(workDir, 'metrics.tsv'),
    };
    const measured: {
      sink: {
        recordS: number;
        encodeS: number;
        rawInsertS: number;
        metricsInsertS: number;
        processCores: number;
        cores: CoresUsed;
        wallS: number;
      };
      client: { rawS: number; metricsS: number; cores: CoresUsed; wallS: number };
    }[] = [];
    log(
      `encode + insert: ${envelopeCount} envelopes = ${envelopeCount} raw_envelopes rows + ${metricRows} metrics rows, ` +
        `${plan.length} batches of at most ${batchRows} rows; ${runs} runs`,
    );
    // A warm-up of the sink's path (JIT, HTTP keep-alive) that also writes the reference files.
    await truncate();
    const warm = await sinkPath();
    writeFileSync(files.raw, Buffer.concat(warm.bodies.raw));
    writeFileSync(files.metrics, Buffer.concat(warm.bodies.metrics));
    results.tsvBytes = {
      raw_envelopes: Buffer.concat(warm.bodies.raw).length,
      metrics: Buffer.concat(warm.bodies.metrics).length,
    };
    let expected: Awaited<ReturnType<typeof contents>> | undefined;
    for (let r = 0; r < runs; r++) {
      const sinkRun = async () => {
        await truncate();
        const m = await measure(sinkPath);
        const got = await contents();
        expected ??= got;
        if (JSON.stringify(got) !== JSON.stringify(expected) || Number(got.metric?.n) !== metricRows) {
          throw new Error(
            `the sink's inserts hold ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`,
          );
        }
        return { ...m.result.spent, processCores: m.processCores, cores: m.cores, wallS: m.wallS };
      };
      const clientRun = async () => {
        await truncate();
        const m = await measure(async () => ({
          rawS: await clickhouseClient('raw_envelopes', rawColumns, files.raw),
          metricsS: await clickhouseClient('metrics', metricColumns, files.metrics),
        }));
        const got = await contents();
        expected ??= got;
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          throw new Error(
            `clickhouse-client's inserts hold ${JSON.stringify(got)}, the sink's ${JSON.stringify(expected)}`,
          );
        }
        return { ...m.result, cores: m.cores, wallS: m.wallS };
      };
      // Take turns going first: whatever else runs on the machine hits both alike.
      if (r % 2 === 0) {
        const sink = await sinkRun();
        measured.push({ sink, client: await clientRun() });
      } else {
        const client = await clientRun();
        measured.push({ sink: await sinkRun(), client });
      }
      const last = measured.at(-1);
      log(
        `  run ${r + 1}: sink record ${last?.sink.recordS.toFixed(2)} s, encode ${last?.sink.encodeS.toFixed(2)} s, ` +
          `insert raw ${last?.sink.rawInsertS.toFixed(2)} s + metrics ${last?.sink.metricsInsertS.toFixed(2)} s; ` +
          `clickhouse-client raw ${last?.client.rawS.toFixed(2)} s + metrics ${last?.client.metricsS.toFixed(2)} s`,
      );
    }
    results.encodeInsert = measured;
    const med = (f: (m: (typeof measured)[number]) => number) => median(measured.map(f));
    const rawInsert = med((m) => envelopeCount / m.sink.rawInsertS);
    const rawClient = med((m) => envelopeCount / m.client.rawS);
    const metricsInsert = med((m) => metricRows / m.sink.metricsInsertS);
    const metricsClient = med((m) => metricRows / m.client.metricsS);
    const bothClient = med((m) => metricRows / (m.client.rawS + m.client.metricsS));
    const encodeInsert = med(
      (m) => metricRows / (m.sink.encodeS + m.sink.rawInsertS + m.sink.metricsInsertS),
    );
    const wholePath = med(
      (m) => metricRows / (m.sink.recordS + m.sink.encodeS + m.sink.rawInsertS + m.sink.metricsInsertS),
    );
    const recordPerS = med((m) => envelopeCount / m.sink.recordS);
    const encodePerS = med((m) => metricRows / m.sink.encodeS);
    const reference = 'clickhouse-client, same bytes';
    const cpuNote = (m: (typeof measured)[number]) =>
      ` Cores busy in run 1 (of ${availableParallelism()}): the sink's path: this process ${cores(m.sink.processCores)}, ` +
      `ClickHouse ${cores(m.sink.cores.clickhouse)}, the whole machine ${cores(m.sink.cores.machine)}; clickhouse-client: ` +
      `ClickHouse ${cores(m.client.cores.clickhouse)}, the whole machine ${cores(m.client.cores.machine)} (the client included).`;
    rows.push(
      row({
        stage: 'insert raw_envelopes (createWriter, HTTP)',
        unit: 'rows/s',
        rate: rawInsert,
        reference,
        referenceRate: rawClient,
        goal: 0.7,
        notes: `${Math.round((results.tsvBytes as { raw_envelopes: number }).raw_envelopes / envelopeCount)} bytes of TabSeparated per row (the envelope, escaped)`,
      }),
      row({
        stage: 'insert metrics (createWriter, HTTP)',
        unit: 'rows/s',
        rate: metricsInsert,
        reference,
        referenceRate: metricsClient,
        goal: 0.7,
      }),
      row({
        stage: 'encode + insert, both tables',
        unit: 'metric rows/s',
        rate: encodeInsert,
        reference: `${reference}, both tables`,
        referenceRate: bothClient,
        goal: 0.7,
        notes:
          `writeRaw + TsvWriter alone: ${Math.round(encodePerS).toLocaleString('en-US')} metric rows/s; ` +
          `the rate counts metrics rows, the raw_envelopes row of each envelope goes with them.${cpuNote(measured[0] as (typeof measured)[number])}`,
      }),
      row({
        stage: 'rawRecord + encode + insert',
        unit: 'metric rows/s',
        rate: wholePath,
        reference: `${reference}, both tables`,
        referenceRate: bothClient,
        goal: 0.7,
        notes:
          `rawRecord (unframe, decode, Ed25519 verify over the received bytes) alone: ${Math.round(recordPerS).toLocaleString('en-US')} envelopes/s ` +
          `= ${Math.round(recordPerS * built.metricsPerEnvelope).toLocaleString('en-US')} metric rows/s on one core: the signature check bounds the sink's raw path as it bounds the processor.`,
      }),
    );

    // ----------------------------------------------------------------------------------------
    // 2. The whole stage

    log(`producing ${envelopeCount} envelopes to ${config.topics.raw} (not timed)`);
    await produceAll(config, config.topics.raw, envelopes);
    envelopes.length = 0;

    const stage: (ChildResult & { cores: CoresUsed; tables: Record<string, string> | undefined })[] = [];
    for (const settingRows of stageBatchRows) {
      for (let r = 0; r < stageRuns; r++) {
        await truncate();
        const groupId = `amoskys-bench-sink-${id}-${settingRows}-${r}`;
        groups.push(groupId);
        log(
          `sink stage, batchRows ${settingRows}${stageRuns > 1 ? `, run ${r + 1}` : ''}: until ${envelopeCount} messages are committed`,
        );
        const meter = cpuMeter(servers);
        const result = await stageInChild({
          config: { ...config, sink: { ...config.sink, groupId, batchRows: settingRows } },
          trustStore,
          messages: envelopeCount,
          logLevel,
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(heapMb === undefined ? {} : { heapMb }),
        });
        const used = meter(result.wholeS);
        // FINAL, as the views read: copies (a retried insert; parts of truncated tables that a
        // ClickHouse restart by other work brought back, 18.16 deletes their files minutes later)
        // collapse. The copies are reported.
        const [counts] = await query<Record<'raw' | 'metrics' | 'rawCopies' | 'metricCopies', string>>(
          `SELECT (SELECT count() FROM ${database}.raw_envelopes FINAL) AS raw, (SELECT count() FROM ${database}.metrics FINAL) AS metrics, ` +
            `(SELECT count() FROM ${database}.raw_envelopes) AS rawCopies, (SELECT count() FROM ${database}.metrics) AS metricCopies`,
        );
        if (Number(counts?.raw) !== envelopeCount || Number(counts?.metrics) !== metricRows) {
          throw new Error(
            `after the stage the tables hold ${JSON.stringify(counts)}, expected ${envelopeCount} and ${metricRows}; ` +
              `the sink's stats: ${JSON.stringify(result.stats)}`,
          );
        }
        stage.push({ ...result, cores: used, tables: counts });
        log(
          `  ${result.processS.toFixed(1)} s after the group join (${result.joinS.toFixed(1)} s), peak RSS ${mb(result.peakRssBytes)}` +
            `, ${result.stats.insertFailures} failed inserts retried, rows in the tables ${counts?.rawCopies} + ${counts?.metricCopies}` +
            `; cores busy: sink ${cores(result.cpuS / result.wholeS)}, ClickHouse ${cores(used.clickhouse)}, ` +
            `Kafka ${cores(used.kafka)}, machine ${cores(used.machine)}`,
        );
      }
    }
    results.stage = stage;
    for (const settingRows of stageBatchRows) {
      const runsOf = stage.filter((s) => s.batchRows === settingRows);
      const perS = median(runsOf.map((s) => metricRows / s.processS));
      const s = runsOf[0] as (typeof stage)[number];
      rows.push(
        row({
          stage: `sink stage, batchRows ${settingRows.toLocaleString('en-US')}`,
          unit: 'metric rows/s',
          rate: perS,
          reference: `${reference}, both tables`,
          referenceRate: bothClient,
          notes:
            `${envelopeCount} messages (${(metricRows / 1e6).toFixed(2)} M metrics rows + ${envelopeCount} raw rows) in ` +
            `${s.processS.toFixed(1)} s from the group join to the last commit (${(envelopeCount / s.processS).toFixed(0)} envelopes/s; ` +
            `the ${s.joinS.toFixed(1)} s join before it not counted); ${s.stats.inserts} inserts, ` +
            `${Math.round((s.stats.rows.metrics + s.stats.rows.raw_envelopes) / Math.max(1, s.stats.inserts)).toLocaleString('en-US')} rows each on average, ` +
            `${s.insertSeconds.sum.toFixed(1)} s inside inserts (summed over partitions); cores busy (run 1): the sink ${cores(s.cpuS / s.wholeS)}, ClickHouse ${cores(s.cores.clickhouse)}, Kafka ${cores(s.cores.kafka)}, the whole machine ${cores(s.cores.machine)}. ` +
            `Peak RSS ${mb(s.peakRssBytes)} (${mb(s.rssBeforeBytes)} before startSink; peak heap used ${mb(s.peakHeapUsedBytes)})`,
        }),
      );
    }
  } finally {
    log('dropping the private database, deleting the topics, subjects and groups');
    await teardown();
  }

  process.stdout.write(
    `\nSink. ClickHouse ${(results.clickhouse as { v?: string } | undefined)?.v ?? '?'}; Node ${process.version}; ` +
      `${availableParallelism()} cores shared with ClickHouse and the Kafka broker; envelopes: ${results.metricsPerEnvelope} metrics, ` +
      `${Math.round(results.envelopeBytes as number)} bytes framed, ${deviceCount} devices; medians of ${runs} runs\n\n`,
  );
  printTable(rows);
  const file = saveResults('sink', rows, results);
  process.stdout.write(`results: ${file}\n`);
}

const childInput = process.env[childEnv];
if (childInput === undefined) await main();
else await runChild(JSON.parse(childInput) as ChildInput);
