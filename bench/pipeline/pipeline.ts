/**
 * The whole pipeline (produce -> raw topic -> processor -> features topic -> sink -> ClickHouse)
 * against its slowest stage alone, measured in the same run on the same envelopes (DESIGN.md
 * "Performance": pipeline rate / slowest stage alone).
 *
 *   node bench/pipeline/pipeline.ts [--envelopes 10000] [--log-level warn]
 *
 * Envelopes: built and signed once (bench/envelopes.ts: the default SNMP profile's 29 metrics from
 * the recorded walk of Debian snmpd, ~2.7 KB framed, 50 devices, one key), not timed.
 *
 * The stages run in child processes (bench/pipeline/stage.ts: `startProcessor` / `startSink`, stage
 * defaults), one per stage as they are deployed: in one process they would share one main thread,
 * and the pipeline run would measure that contention instead of the pipeline. Each stage joins its
 * consumer group before its clock starts.
 *
 * 1. Stages alone, on private pipeline A (topics, subjects, groups from test/helpers/pipeline.ts
 *    `createPipeline`) into a private migrated database:
 *    - produce: the envelopes sent with `BatchProducer` until every one is acknowledged;
 *    - processor: from its partition assignment until every message is committed (the partitions'
 *      take-over and state restore are inside, as in the pipeline run; bench/processor leaves them out);
 *    - sink: the raw topic and the processor's feature rows, from its partition assignment until
 *      both are acknowledged by ClickHouse and committed.
 * 2. The pipeline, on private pipeline B into another private database: processor and sink started
 *    and assigned, then the same envelopes produced; timed from the first send until the sink has
 *    every raw and feature message's rows acknowledged and committed. The views then must show every
 *    envelope once (v_raw_envelopes, v_features, v_metrics).
 *
 * Ratio: pipeline rate / the slowest stage's rate alone. On 2 cores the stages, Kafka and
 * ClickHouse compete for CPU when they overlap, which they do not when each runs alone: the notes
 * give the cores each run kept busy, and the rate of the stages run one after another.
 *
 * Needs the local stack (`amoskys stack up`): Kafka, the registry, ClickHouse. The private
 * databases, topics, subjects and consumer groups are deleted at the end. About a minute.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { migrations } from '../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate } from '../../src/core/clickhouse/index.ts';
import { type Config, loadConfig } from '../../src/core/config/index.ts';
import { writeTrustStore } from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { createPipeline, type PrivatePipeline } from '../../test/helpers/pipeline.ts';
import { framed, signedEnvelopes } from '../envelopes.ts';
import {
  type BenchRow,
  type CoresUsed,
  cores,
  cpuMeter,
  intArg,
  logLevelArg,
  printTable,
  produceAll,
  requireStack,
  row,
  saveResults,
} from '../lib.ts';
import { type StageDone, type StageInput, startStage } from './stage.ts';

if (process.argv.includes('--help')) {
  process.stdout.write(
    'node bench/pipeline/pipeline.ts [--envelopes 10000] [--log-level warn]\n' +
      'The pipeline (processor and sink in child processes) against its slowest stage alone; see the header of this file.\n',
  );
  process.exit(0);
}
const envelopeCount = intArg('--envelopes', 10_000);
/** The stages' logs (JSON on stderr); silent by default. */
const logLevel = logLevelArg();

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const epochMs = () => performance.timeOrigin + performance.now();

const { config: base } = loadConfig();
const pids = await requireStack(base, ['kafka', 'registry', 'clickhouse']);

const id = randomBytes(3).toString('hex');
const trustDir = mkdtempSync(path.join(tmpdir(), 'amoskys-bench-pipeline-'));
const trustStore = path.join(trustDir, 'trust-store.json');
const pipelines: PrivatePipeline[] = [];
const databases: string[] = [];
const sinkGroups: string[] = [];
const running: { stop(): void }[] = [];
const admin = createClickHouse(base, { database: null });
let client: ClickHouseClient | undefined;

async function teardown(): Promise<void> {
  for (const r of running) r.stop();
  await client?.close().catch(() => undefined);
  for (const db of databases)
    await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
  await admin.close().catch(() => undefined);
  if (sinkGroups.length > 0) {
    const kafkaAdmin = createKafka(base, 'bench-pipeline-cleanup').admin();
    await kafkaAdmin.connect().catch(() => undefined);
    await kafkaAdmin.deleteGroups(sinkGroups).catch(() => undefined);
    await kafkaAdmin.disconnect().catch(() => undefined);
  }
  for (const p of pipelines) await p.teardown();
  rmSync(trustDir, { recursive: true, force: true });
}
process.once('SIGINT', () => {
  log('interrupted');
  void teardown().finally(() => process.exit(130));
});

/** A private pipeline and a private migrated database, with a sink group of its own. */
async function privatePipeline(name: string): Promise<{ pipeline: PrivatePipeline; config: Config }> {
  const pipeline = await createPipeline(base, 'bench');
  pipelines.push(pipeline);
  const database = `${base.clickhouse.database}_bench_pipeline_${id}_${name}`;
  databases.push(database);
  await migrate(admin, { database, migrations });
  const groupId = `amoskys-bench-sink-${id}-${name}`;
  sinkGroups.push(groupId);
  const config: Config = {
    ...pipeline.config,
    clickhouse: { ...pipeline.config.clickhouse, database },
    processor: { ...pipeline.config.processor, trustStore },
    sink: { ...pipeline.config.sink, groupId },
  };
  return { pipeline, config };
}

/**
 * Runs a stage in its own process, logs its progress, and measures the cores the machine, ClickHouse
 * and Kafka kept busy from its assignment until it reported done (`used`).
 */
function stage(which: StageInput['stage'], config: Config, label: string) {
  const p = startStage({ stage: which, config, messages: envelopeCount, logLevel }, (done) =>
    log(`  ${label}: ${done} / ${envelopeCount}`),
  );
  running.push(p);
  const used = p.assigned.then(async () => {
    const meter = cpuMeter(pids);
    const done = await p.reported;
    return meter((done.doneAtMs - done.assignedAtMs) / 1000);
  });
  used.catch(() => undefined);
  return { ...p, used };
}

/** Cores a stage run alone kept busy from its assignment to done: itself, and the machine meanwhile. */
function coresOf(done: StageDone, used: CoresUsed) {
  return { stage: done.cpuS / ((done.doneAtMs - done.assignedAtMs) / 1000), used };
}

const rows: BenchRow[] = [];
const results: Record<string, unknown> = {
  envelopes: envelopeCount,
  cores: availableParallelism(),
  loadAverage: { start: loadavg() },
};

try {
  log(`building and signing ${envelopeCount} envelopes`);
  const built = await signedEnvelopes({ count: envelopeCount });
  writeTrustStore(trustStore, built.trustStore);
  const metricRows = envelopeCount * built.metricsPerEnvelope;
  results.metricsPerEnvelope = built.metricsPerEnvelope;

  const a = await privatePipeline('a');
  const b = await privatePipeline('b');
  log(`private pipelines ${a.config.topics.raw} (stages alone) and ${b.config.topics.raw} (the pipeline)`);
  const messagesA = framed(built.envelopes, a.pipeline.rawSchemaId);
  const messagesB = framed(built.envelopes, b.pipeline.rawSchemaId);
  results.envelopeBytes = messagesA.reduce((sum, m) => sum + m.value.length, 0) / envelopeCount;
  built.envelopes.length = 0;

  // ----------------------------------------------------------------------------------------
  // 1. Stages alone

  log(`produce alone: ${envelopeCount} envelopes to ${a.config.topics.raw}`);
  let meterStartedAtMs = epochMs();
  const meter = cpuMeter(pids);
  const produced = await produceAll(a.config, a.config.topics.raw, messagesA);
  // The meter also saw the producer connect: divided by its own span, not by the send time.
  const produceCpu = meter((epochMs() - meterStartedAtMs) / 1000);
  const producePerS = envelopeCount / produced.seconds;

  log('processor alone');
  const processorRun = stage('processor', a.config, 'processor');
  const processorAlone = await processorRun.done;
  const processorS = (processorAlone.doneAtMs - processorAlone.assignedAtMs) / 1000;
  const processorCpu = coresOf(processorAlone, await processorRun.used);
  const processorStats = processorAlone.stats as { accepted: number };
  if (processorStats.accepted !== envelopeCount) {
    throw new Error(
      `the processor accepted ${processorStats.accepted} of ${envelopeCount}: ${JSON.stringify(processorAlone.stats)}`,
    );
  }

  log('sink alone: raw and feature messages');
  const sinkRun = stage('sink', a.config, 'sink (min of raw, features)');
  const sinkAlone = await sinkRun.done;
  const sinkS = (sinkAlone.doneAtMs - sinkAlone.assignedAtMs) / 1000;
  const sinkCpu = coresOf(sinkAlone, await sinkRun.used);

  // ----------------------------------------------------------------------------------------
  // 2. The pipeline

  log('pipeline: processor and sink joining their groups');
  const processorP = stage('processor', b.config, 'pipeline processor');
  const sinkP = stage('sink', b.config, 'pipeline sink (min of raw, features)');
  await Promise.all([processorP.assigned, sinkP.assigned]);
  log(`pipeline: producing ${envelopeCount} envelopes to ${b.config.topics.raw}`);
  meterStartedAtMs = epochMs();
  const pipelineMeter = cpuMeter(pids);
  const producedP = await produceAll(b.config, b.config.topics.raw, messagesB);
  const sinkReportP = await sinkP.reported;
  // From the producer's connect to the sink's done: a little longer than pipelineS.
  const pipelineCpu = pipelineMeter((epochMs() - meterStartedAtMs) / 1000);
  const [processorDoneP, sinkDoneP] = await Promise.all([processorP.done, sinkP.done]);
  const pipelineS = (sinkReportP.doneAtMs - producedP.startedAtMs) / 1000;
  const pipelinePerS = envelopeCount / pipelineS;

  client = createClickHouse(b.config);
  const db = b.config.clickhouse.database;
  const [counts] = await (
    await client.query({
      query:
        `SELECT (SELECT count() FROM ${db}.v_raw_envelopes) AS raw, (SELECT count() FROM ${db}.v_features) AS features, ` +
        `(SELECT count() FROM ${db}.v_metrics) AS metrics`,
      format: 'JSONEachRow',
    })
  ).json<{ raw: string; features: string; metrics: string }>();
  if (
    Number(counts?.raw) !== envelopeCount ||
    Number(counts?.features) !== envelopeCount ||
    Number(counts?.metrics) !== metricRows
  ) {
    throw new Error(
      `after the pipeline the views hold ${JSON.stringify(counts)}, expected ${envelopeCount} raw envelopes, ` +
        `${envelopeCount} feature rows and ${metricRows} metrics rows`,
    );
  }

  // ----------------------------------------------------------------------------------------
  // Rows

  const stages = [
    { name: 'produce', perS: producePerS },
    { name: 'processor', perS: envelopeCount / processorS },
    { name: 'sink', perS: envelopeCount / sinkS },
  ];
  const slowest = stages.reduce((min, s) => (s.perS < min.perS ? s : min));
  const reference = `slowest stage alone (${slowest.name})`;
  const serialPerS = envelopeCount / (produced.seconds + processorS + sinkS);
  const stageNote = (cpu: ReturnType<typeof coresOf>, done: StageDone) =>
    `cores busy: the stage ${cores(cpu.stage)}, ClickHouse ${cores(cpu.used.clickhouse)}, Kafka ${cores(cpu.used.kafka)}, ` +
    `the whole machine ${cores(cpu.used.machine)}; group join ${((done.assignedAtMs - done.startedAtMs) / 1000).toFixed(1)} s before the clock started`;
  rows.push(
    row({
      stage: 'produce -> processor -> sink',
      unit: 'envelopes/s',
      rate: pipelinePerS,
      reference,
      referenceRate: slowest.perS,
      notes:
        `${envelopeCount} envelopes (${metricRows.toLocaleString('en-US')} metrics rows + ${envelopeCount} raw + ${envelopeCount} feature rows) ` +
        `in ${pipelineS.toFixed(1)} s from the first send until the sink committed the last; producing took ` +
        `${producedP.seconds.toFixed(1)} s of it, the processor was done after ${((processorDoneP.doneAtMs - producedP.startedAtMs) / 1000).toFixed(1)} s. ` +
        `The stages one after another: ${Math.round(serialPerS)}/s. Cores busy: processor ${cores(processorDoneP.cpuS / pipelineS)}, ` +
        `sink ${cores(sinkDoneP.cpuS / pipelineS)}, ClickHouse ${cores(pipelineCpu.clickhouse)}, Kafka ${cores(pipelineCpu.kafka)}, ` +
        `the whole machine ${cores(pipelineCpu.machine)} of ${availableParallelism()}`,
    }),
    row({
      stage: 'produce alone (BatchProducer)',
      unit: 'envelopes/s',
      rate: producePerS,
      reference,
      referenceRate: slowest.perS,
      notes: `cores busy: ClickHouse ${cores(produceCpu.clickhouse)}, Kafka ${cores(produceCpu.kafka)}, the whole machine ${cores(produceCpu.machine)}`,
    }),
    row({
      stage: 'processor alone',
      unit: 'envelopes/s',
      rate: envelopeCount / processorS,
      reference,
      referenceRate: slowest.perS,
      notes:
        `${processorS.toFixed(1)} s from assignment to the last commit, ` +
        `${(((processorAlone.firstWorkAtMs ?? processorAlone.assignedAtMs) - processorAlone.assignedAtMs) / 1000).toFixed(1)} s of it ` +
        `taking over partitions before the first validation; ${stageNote(processorCpu, processorAlone)}`,
    }),
    row({
      stage: 'sink alone, raw + features',
      unit: 'envelopes/s',
      rate: envelopeCount / sinkS,
      reference,
      referenceRate: slowest.perS,
      notes: `${sinkS.toFixed(1)} s from assignment to the last commit; ${stageNote(sinkCpu, sinkAlone)}`,
    }),
  );
  results.stages = { produce: { ...produced, cpu: produceCpu }, processor: processorAlone, sink: sinkAlone };
  results.pipeline = {
    seconds: pipelineS,
    perS: pipelinePerS,
    produceSeconds: producedP.seconds,
    processor: processorDoneP,
    sink: sinkDoneP,
    cpu: pipelineCpu,
    views: counts,
  };
  results.slowest = slowest;
  (results.loadAverage as Record<string, number[]>).end = loadavg();
} finally {
  log('dropping the private databases, deleting the topics, subjects and groups');
  await teardown();
}

process.stdout.write(
  `\nPipeline. Node ${process.version}; ${availableParallelism()} cores shared with ClickHouse and the Kafka broker; ` +
    `envelopes: ${results.metricsPerEnvelope} metrics, ${Math.round(results.envelopeBytes as number)} bytes framed, 50 devices; ` +
    `load average ${(results.loadAverage as { start: number[] }).start.map((l) => l.toFixed(2)).join(' ')} at the start\n\n`,
);
printTable(rows);
const file = saveResults('pipeline', rows, results);
process.stdout.write(`results: ${file}\n`);
