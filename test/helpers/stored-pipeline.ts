/**
 * The whole pipeline on the real stack, for tests that need data the pipeline produced: the SNMP
 * producer polls the local snmpd and a simulated fleet, the processor verifies and flattens, the
 * ClickHouse sink stores, all into a private set of topics and a migrated database of the test's
 * own.
 *
 * ```ts
 * const p = await storedPipeline(ctx, { devices: 3, polls: 2 });   // resolves once all is stored
 * p.produced            // the raw-topic messages, as produced
 * await p.db.rows(`SELECT count() AS n FROM ${p.config.clickhouse.database}.v_features`)
 * ```
 *
 * Fault tests use the layer below: `startTestPipeline` keeps producing until told to stop, and
 * `spawnSink` runs `amoskys sink run` as a child process they can SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { inject, type TestContext } from 'vitest';
import { createClickHouse } from '../../src/core/clickhouse/index.ts';
import { type Config, repoRoot } from '../../src/core/config/index.ts';
import {
  generateSigningKey,
  type SigningKey,
  signerFor,
  TrustStoreWatcher,
  writeTrustStore,
} from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../src/core/metrics/index.ts';
import {
  createProcessorLogic,
  type ProcessorStage,
  type ProcessorStats,
  startProcessor,
} from '../../src/processors/telemetry/index.ts';
import {
  buildInventory,
  type ProducerStage,
  startProducer,
  startSimulator,
} from '../../src/producers/snmp/index.ts';
import { type SinkStage, type SinkStats, startSink } from '../../src/sinks/clickhouse/index.ts';
import { type TestDatabase, testDatabase } from './clickhouse.ts';
import { testConfig } from './config.ts';
import { type ReadMessage, waitForMessages } from './kafka.ts';
import { testPipeline } from './pipeline.ts';
import { waitFor } from './wait.ts';

export interface StoredPipelineOptions {
  /** Simulated devices polled next to the local snmpd. @default 3 */
  devices?: number;
  /** Polls per device before the producer stops (storedPipeline only). @default 2 */
  polls?: number;
  /** Poll interval, s. @default 1 */
  intervalS?: number;
  /** Run the sink in this process; false leaves storing to the test (e.g. a sink it kills). @default true */
  sink?: boolean;
  /** Base configuration. @default testConfig() */
  base?: Config;
}

/** A pipeline that is producing. */
export interface RunningPipeline {
  /** Private topics, group ids, migrated database and trust store of the test. */
  config: Config;
  db: TestDatabase;
  kafka: Kafka;
  /** The signing key of the producer (trusted for every device). */
  key: SigningKey;
  /** The trust-store file. */
  trustStore: string;
  /** Device ids polled (snmpd first). */
  devices: string[];
  producer: ProducerStage;
  processor: ProcessorStage;
  /** Undefined when `sink: false`. */
  sink: SinkStage | undefined;
  /**
   * Stops the producer, waits for the processor to take everything, returns the raw topic.
   * @param othersOnTopic messages the test itself put on the raw topic @default 0
   */
  stopProducing(othersOnTopic?: number): Promise<ReadMessage[]>;
  /** Waits until the analyst views hold `count` envelopes (raw archive and feature rows). */
  waitStored(count: number, timeoutMs?: number): Promise<void>;
}

export interface StoredPipeline {
  config: Config;
  db: TestDatabase;
  key: SigningKey;
  trustStore: string;
  /** Every raw-topic message, read back after the producer stopped. */
  produced: ReadMessage[];
  devices: string[];
  processor: ProcessorStats;
  /** Undefined when `sink: false`. */
  sink: SinkStats | undefined;
}

const silent = createLogger({ level: process.env.AMOSKYS_TEST_VERBOSE === '1' ? 'info' : 'silent' });

/** Starts a sink for `config` in this process; closed when the test finishes. */
export async function testSink(ctx: TestContext, config: Config, trustStore: string): Promise<SinkStage> {
  const trust = new TrustStoreWatcher({ file: trustStore, logger: silent });
  trust.start();
  const clickhouse = createClickHouse(config);
  const sink = await startSink({
    config,
    kafka: createKafka(config, 'test-sink', silent),
    clickhouse,
    trust: () => trust.snapshot,
    logger: silent,
    metrics: createMetricsRegistry('test-sink'),
    retry: { minMs: 50, maxMs: 500 },
  });
  ctx.onTestFinished(async () => {
    await sink.close();
    trust.close();
    await clickhouse.close();
  });
  return sink;
}

/** Environment variables that point a child `amoskys` process at `config`. */
export function childEnv(config: Config): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    ...inject('amoskysEnv'),
    AMOSKYS_TOPIC_RAW: config.topics.raw,
    AMOSKYS_TOPIC_FEATURES: config.topics.features,
    AMOSKYS_TOPIC_DLQ: config.topics.dlq,
    AMOSKYS_TOPIC_PROCESSOR_STATE: config.topics.processorState,
    AMOSKYS_PROCESSOR_GROUP_ID: config.processor.groupId,
    AMOSKYS_PROCESSOR_TRUST_STORE: config.processor.trustStore,
    AMOSKYS_SINK_GROUP_ID: config.sink.groupId,
    AMOSKYS_SINK_BATCH_ROWS: String(config.sink.batchRows),
    AMOSKYS_SINK_FLUSH_INTERVAL_MS: String(config.sink.flushIntervalMs),
    AMOSKYS_CLICKHOUSE_DATABASE: config.clickhouse.database,
    AMOSKYS_METRICS_PORT: '0',
    AMOSKYS_LOG_LEVEL: process.env.AMOSKYS_TEST_VERBOSE === '1' ? 'info' : 'error',
  };
}

/** `amoskys sink run` as a child process, resolved once it owns partitions; killed when the test ends. */
export async function spawnSink(ctx: TestContext, config: Config): Promise<ChildProcess> {
  const child = spawn(process.execPath, [`${repoRoot}/src/cli/main.ts`, 'sink', 'run'], {
    env: childEnv(config),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  ctx.onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.AMOSKYS_TEST_VERBOSE === '1') process.stderr.write(chunk);
  });
  await waitFor(() => stderr.includes('[sink] partitions assigned') || child.exitCode !== null, {
    description: 'the sink to join its group',
    timeoutMs: 60_000,
  });
  if (child.exitCode !== null) throw new Error(`sink exited at start: ${stderr}`);
  return child;
}

/** Starts producer (snmpd + simulated fleet), processor and, unless `sink: false`, the sink. */
export async function startTestPipeline(
  ctx: TestContext,
  options: StoredPipelineOptions = {},
): Promise<RunningPipeline> {
  const base = options.base ?? testConfig();
  const simulated = options.devices ?? 3;
  const intervalS = options.intervalS ?? 1;

  const pipeline = await testPipeline(ctx, base);
  const sinkGroup = pipeline.config.processor.groupId.replace('-processor-', '-sink-');
  const db = await testDatabase(ctx, {
    ...pipeline.config,
    sink: { ...pipeline.config.sink, groupId: sinkGroup },
  });

  const simulator =
    simulated > 0 ? await startSimulator({ count: simulated, community: base.snmp.community }) : undefined;
  ctx.onTestFinished(() => simulator?.close());
  const fleet = simulator?.inventory({ intervalSeconds: intervalS }) ?? { devices: [] };
  const devices = buildInventory({
    ...fleet,
    devices: [
      {
        id: 'local-snmpd',
        address: base.snmp.host,
        port: base.snmp.port,
        version: 'v2c',
        community: base.snmp.community,
        intervalSeconds: intervalS,
      },
      ...fleet.devices,
    ],
  }).devices;
  const ids = devices.map((d) => d.id);

  const key = generateSigningKey({ keyId: 'stored-pipeline', devices: ids });
  const trustStore = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
  writeTrustStore(trustStore, {
    format: 'amoskys.trust-store.v1',
    keys: [
      {
        keyId: key.keyId,
        publicKey: Buffer.from(key.publicKey).toString('base64'),
        devices: ids,
        notBefore: new Date(Date.now() - 86_400_000).toISOString(),
      },
    ],
  } as Parameters<typeof writeTrustStore>[1]);
  const config: Config = { ...db.config, processor: { ...db.config.processor, trustStore } };

  const kafka = createKafka(config, 'test-pipeline', silent);
  const metrics = createMetricsRegistry('test-pipeline');
  const logic = await createProcessorLogic({ config, logger: silent, metrics });
  ctx.onTestFinished(() => logic.close());
  const processor = await startProcessor({ config, kafka, logic: logic.logic, logger: silent, metrics });
  ctx.onTestFinished(() => processor.close());
  const sink = options.sink === false ? undefined : await testSink(ctx, config, trustStore);
  const producer = await startProducer({
    config,
    kafka,
    devices,
    signer: signerFor(key),
    logger: silent,
    metrics,
  });
  ctx.onTestFinished(() => producer.close());

  const database = config.clickhouse.database;
  return {
    config,
    db,
    kafka,
    key,
    trustStore,
    devices: ids,
    producer,
    processor,
    sink,
    stopProducing: async (othersOnTopic = 0) => {
      await producer.close();
      const count = producer.stats().envelopesProduced + othersOnTopic;
      const produced = await waitForMessages(kafka, config.topics.raw, count, 30_000);
      await waitFor(() => processor.stats().in >= produced.length, {
        description: `the processor to process ${produced.length} raw messages`,
        timeoutMs: 60_000,
      });
      return produced;
    },
    waitStored: async (count, timeoutMs = 60_000) => {
      await waitFor(
        async () => {
          const [row] = await db.rows<{ raw: string; features: string }>(
            `SELECT (SELECT count() FROM ${database}.v_raw_envelopes) AS raw, (SELECT count() FROM ${database}.v_features) AS features`,
          );
          return Number(row?.raw) >= count && Number(row?.features) >= count;
        },
        { description: `ClickHouse to hold ${count} envelopes`, timeoutMs, intervalMs: 250 },
      );
    },
  };
}

/** Runs the pipeline until every device was polled `polls` times and everything is stored. */
export async function storedPipeline(
  ctx: TestContext,
  options: StoredPipelineOptions = {},
): Promise<StoredPipeline> {
  const polls = options.polls ?? 2;
  const intervalS = options.intervalS ?? 1;
  const p = await startTestPipeline(ctx, options);
  await waitFor(() => p.producer.stats().envelopesProduced >= p.devices.length * polls, {
    description: `${p.devices.length} devices polled ${polls} times`,
    timeoutMs: 30_000 + polls * intervalS * 2000,
  });
  const produced = await p.stopProducing();
  if (p.sink !== undefined) await p.waitStored(p.processor.stats().accepted);
  return {
    config: p.config,
    db: p.db,
    key: p.key,
    trustStore: p.trustStore,
    produced,
    devices: p.devices,
    processor: p.processor.stats(),
    sink: p.sink?.stats(),
  };
}
