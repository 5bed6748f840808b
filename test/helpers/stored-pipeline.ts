/**
 * The whole pipeline on the real stack, for tests that need data the pipeline produced: the SNMP
 * producer polls the local snmpd and a simulated fleet, the processor verifies and flattens, the
 * ClickHouse sink stores, all into a private set of topics and a migrated database of the test's
 * own. Resolves once every produced envelope is queryable in the analyst views.
 *
 * ```ts
 * const p = await storedPipeline(ctx, { devices: 3, polls: 2 });
 * p.produced            // the raw-topic messages, as produced
 * await p.db.rows(`SELECT count() AS n FROM ${p.config.clickhouse.database}.v_features`)
 * ```
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'vitest';
import { createClickHouse } from '../../src/core/clickhouse/index.ts';
import type { Config } from '../../src/core/config/index.ts';
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
  type ProcessorStats,
  startProcessor,
} from '../../src/processors/telemetry/index.ts';
import { buildInventory, startProducer, startSimulator } from '../../src/producers/snmp/index.ts';
import { type SinkStage, type SinkStats, startSink } from '../../src/sinks/clickhouse/index.ts';
import { type TestDatabase, testDatabase } from './clickhouse.ts';
import { testConfig } from './config.ts';
import { type ReadMessage, waitForMessages } from './kafka.ts';
import { testPipeline } from './pipeline.ts';
import { waitFor } from './wait.ts';

export interface StoredPipelineOptions {
  /** Simulated devices polled next to the local snmpd. @default 3 */
  devices?: number;
  /** Polls per device before the producer stops. @default 2 */
  polls?: number;
  /** Poll interval, s. @default 1 */
  intervalS?: number;
  /** Run the sink in this process; false leaves storing to the test (e.g. a sink it kills). @default true */
  sink?: boolean;
  /** Base configuration. @default testConfig() */
  base?: Config;
}

export interface StoredPipeline {
  /** Private topics, group ids, migrated database, trust store of the run. */
  config: Config;
  db: TestDatabase;
  /** The signing key of the producer (trusted for every device). */
  key: SigningKey;
  /** The trust-store file. */
  trustStore: string;
  /** Every raw-topic message, read back after the producer stopped. */
  produced: ReadMessage[];
  /** Device ids polled (snmpd first). */
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
  const db = createClickHouse(config);
  const sink = await startSink({
    config,
    kafka: createKafka(config, 'test-sink', silent),
    clickhouse: db,
    trust: () => trust.snapshot,
    logger: silent,
    metrics: createMetricsRegistry('test-sink'),
    retry: { minMs: 50, maxMs: 500 },
  });
  ctx.onTestFinished(async () => {
    await sink.close();
    trust.close();
    await db.close();
  });
  return sink;
}

export async function storedPipeline(
  ctx: TestContext,
  options: StoredPipelineOptions = {},
): Promise<StoredPipeline> {
  const base = options.base ?? testConfig();
  const simulated = options.devices ?? 3;
  const polls = options.polls ?? 2;
  const intervalS = options.intervalS ?? 1;

  const pipeline = await testPipeline(ctx, base);
  const sinkGroup = `${pipeline.config.processor.groupId.replace('-processor-', '-sink-')}`;
  const db = await testDatabase(ctx, {
    ...pipeline.config,
    sink: { ...pipeline.config.sink, groupId: sinkGroup },
  });
  const config = db.config;

  const simulator =
    simulated > 0 ? await startSimulator({ count: simulated, community: config.snmp.community }) : undefined;
  ctx.onTestFinished(() => simulator?.close());
  const fleet = simulator?.inventory({ intervalSeconds: intervalS }) ?? { devices: [] };
  const devices = buildInventory({
    ...fleet,
    devices: [
      {
        id: 'local-snmpd',
        address: config.snmp.host,
        port: config.snmp.port,
        version: 'v2c',
        community: config.snmp.community,
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
  const withTrust: Config = { ...config, processor: { ...config.processor, trustStore } };

  const kafka = createKafka(withTrust, 'test-pipeline', silent);
  const metrics = createMetricsRegistry('test-pipeline');
  const logic = await createProcessorLogic({ config: withTrust, logger: silent, metrics });
  ctx.onTestFinished(() => logic.close());
  const processor = await startProcessor({
    config: withTrust,
    kafka,
    logic: logic.logic,
    logger: silent,
    metrics,
  });
  ctx.onTestFinished(() => processor.close());
  const sink = options.sink === false ? undefined : await testSink(ctx, withTrust, trustStore);

  const producer = await startProducer({
    config: withTrust,
    kafka,
    devices,
    signer: signerFor(key),
    logger: silent,
    metrics,
  });
  await waitFor(() => producer.stats().envelopesProduced >= devices.length * polls, {
    description: `${devices.length} devices polled ${polls} times`,
    timeoutMs: 30_000 + polls * intervalS * 2000,
  });
  await producer.close();
  const count = producer.stats().envelopesProduced;
  const produced = await waitForMessages(kafka, withTrust.topics.raw, count, 30_000);

  await waitFor(() => processor.stats().in >= count, {
    description: `the processor to process ${count} envelopes`,
    timeoutMs: 60_000,
  });
  if (sink !== undefined) {
    const database = withTrust.clickhouse.database;
    await waitFor(
      async () => {
        const [row] = await db.rows<{ raw: string; features: string }>(
          `SELECT (SELECT count() FROM ${database}.v_raw_envelopes) AS raw, (SELECT count() FROM ${database}.v_features) AS features`,
        );
        return (
          Number(row?.raw) >= processor.stats().accepted &&
          Number(row?.features) >= processor.stats().accepted
        );
      },
      { description: `the sink to store ${count} envelopes`, timeoutMs: 60_000 },
    );
  }
  return {
    config: withTrust,
    db,
    key,
    trustStore,
    produced,
    devices: ids,
    processor: processor.stats(),
    sink: sink?.stats(),
  };
}
