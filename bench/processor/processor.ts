/**
 * The telemetry processor against `openssl speed ed25519` verify/s measured in the same run
 * (DESIGN.md "Performance"; issue 4 item 8: goal >= 0.7 per core used).
 *
 *   node bench/processor/processor.ts [--envelopes 20000] [--workers 2]
 *     [--chunk N] [--concurrency N] [--all-rows] [--log-level warn]
 *
 * 1. Reference: `openssl speed -seconds 3 ed25519`, verify/s of one process (one core).
 * 2. Validation alone: `createProcessorLogic(...).logic.validate`, the piscina pool (framing,
 *    schema id, decode, trust, signature, freshness, values), called as the stage calls it
 *    (chunks of 500, one per partition, 6 partitions at once), with 1 .. `--workers` threads.
 *    The workers return no poll: flatten() decodes it again on the main thread, in 3.
 *    Envelopes: the default SNMP profile's 29 metrics, one value each, from the recorded walk of
 *    Debian snmpd (~2.7 KB framed; `--all-rows`: all 71 values of that walk, ~7.8 KB), 50 devices,
 *    counters and sysUpTime advancing slot by slot so that every sample gives rates.
 * 3. The whole stage: the same envelopes produced (not timed) to a private 6-partition raw topic,
 *    then `startProcessor` in this process (stage defaults; `--chunk` and `--concurrency` override
 *    chunkMessages and partitionsConsumedConcurrently), timed from the first chunk's validation until
 *    every message is committed: consume, validate, deduplicate, flatten, one Kafka transaction per
 *    chunk (feature rows, changelog, offsets). The group join and partition take-over before it
 *    are reported apart. Where the time goes: the stage's chunk histogram
 *    (amoskys_processor_chunk_seconds), validate() and flatten() timed around the logic, CPU of the
 *    main thread, the worker threads, the Kafka broker and every other process (/proc).
 *
 * Needs the local stack (`amoskys stack up`): Kafka and the registry. The private topics, subjects
 * and consumer group are deleted at the end. About 40 s. Two cores shared with the Kafka broker
 * (and whatever else runs): absolute rates move from run to run, hence the CPU notes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { Config } from '../../src/core/config/index.ts';
import { loadConfig } from '../../src/core/config/index.ts';
import { writeTrustStore } from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../src/core/metrics/index.ts';
import { resolveTopics } from '../../src/core/topics/index.ts';
import {
  type Accepted,
  createProcessorLogic,
  type ProcessorLogic,
  startProcessor,
} from '../../src/processors/telemetry/index.ts';
import { createPipeline } from '../../test/helpers/pipeline.ts';
import { framed, signedEnvelopes } from '../envelopes.ts';
import {
  intArg as arg,
  type BenchRow,
  logLevelArg,
  machineBusyS,
  printTable,
  procCpuS,
  produceAll,
  requireStack,
  row,
  run,
  saveResults,
} from '../lib.ts';

const envelopeCount = arg('--envelopes', 20_000);
/** Worker threads of the stage; validation alone is measured with 1 .. this many. */
const workers = arg('--workers', availableParallelism());
/** Stage options, for experiments; unset, the stage's defaults apply. */
const chunkArg = process.argv.includes('--chunk') ? arg('--chunk', 1) : undefined;
const concurrencyArg = process.argv.includes('--concurrency') ? arg('--concurrency', 1) : undefined;
const stageOptions = {
  ...(chunkArg === undefined ? {} : { chunkMessages: chunkArg }),
  ...(concurrencyArg === undefined ? {} : { partitionsConsumedConcurrently: concurrencyArg }),
};
const allRows = process.argv.includes('--all-rows');
/** The stage's logs (JSON on stderr); silent by default. */
const logLevel = logLevelArg();
/** The stage made no progress for this long: it is stuck, not slow. */
const stallMs = 30_000;
const deviceCount = 50;
/** The processor's default chunk (messages per transaction), and how validate() is called alone. */
const chunkMessages = 500;
/** The processor's default partitionsConsumedConcurrently: chunks validated at once. */
const partitionsInFlight = 6;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const { config: base } = loadConfig();
const rows: BenchRow[] = [];
const results: Record<string, unknown> = {
  envelopes: envelopeCount,
  devices: deviceCount,
  workers,
  stageOptions,
  allRows,
};

// ------------------------------------------------------------------------------------------
// CPU accounting (lib.ts: Linux /proc)

/** CPU seconds used while `fn` ran: the whole process, its main thread, the Kafka broker, the rest. */
interface CpuUse {
  wallS: number;
  process: number;
  mainThread: number;
  broker?: number;
  /** Every other process of the machine (other work that skews absolute rates). */
  others?: number;
}

async function measure<T>(brokerPid: number | undefined, fn: () => Promise<T>): Promise<[T, CpuUse]> {
  const proc = process.cpuUsage();
  const main = process.threadCpuUsage();
  const broker = brokerPid === undefined ? undefined : procCpuS(brokerPid);
  const machine = machineBusyS();
  const started = performance.now();
  const result = await fn();
  const wallS = (performance.now() - started) / 1000;
  const p = process.cpuUsage(proc);
  const m = process.threadCpuUsage(main);
  const brokerAfter = brokerPid === undefined ? undefined : procCpuS(brokerPid);
  const machineAfter = machineBusyS();
  const use: CpuUse = { wallS, process: (p.user + p.system) / 1e6, mainThread: (m.user + m.system) / 1e6 };
  if (broker !== undefined && brokerAfter !== undefined) use.broker = brokerAfter - broker;
  if (machine !== undefined && machineAfter !== undefined) {
    use.others = Math.max(0, machineAfter - machine - use.process - (use.broker ?? 0));
  }
  return [result, use];
}

const cores = (cpuS: number, wallS: number) => (cpuS / wallS).toFixed(2);
const others = (cpu: CpuUse) => (cpu.others === undefined ? '?' : cores(cpu.others, cpu.wallS));
const us = (ms: number, n: number) => `${Math.round((1000 * ms) / n)} µs`;
const pct = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;

// ------------------------------------------------------------------------------------------
// 1. Reference

log('openssl speed -seconds 3 ed25519 (about 6 s)');
const busyBefore = machineBusyS();
const openssl = await run('openssl', ['speed', '-seconds', '3', 'ed25519']);
const busyAfter = machineBusyS();
// openssl speed keeps one core busy; the rest is other work on the machine.
const othersDuringOpenssl =
  busyBefore === undefined || busyAfter === undefined
    ? undefined
    : Math.max(0, (busyAfter - busyBefore) / (openssl.ms / 1000) - 1);
const match = /EdDSA \(Ed25519\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(openssl.stdout);
if (match === null) throw new Error(`cannot read the output of openssl speed:\n${openssl.stdout}`);
const opensslVerify = Number(match[2]);
const opensslVersion = (await run('openssl', ['version'])).stdout.trim();
results.openssl = {
  version: opensslVersion,
  verifyPerSecond: opensslVerify,
  othersCores: othersDuringOpenssl,
};
const reference = 'openssl speed verify (1 core)';

// ------------------------------------------------------------------------------------------
// Private topics, subjects, group (test/helpers/pipeline.ts) and trust store

const brokerPid = (await requireStack(base, ['kafka', 'registry'])).kafka;

const trustDir = mkdtempSync(path.join(tmpdir(), 'amoskys-bench-trust-'));
const pipeline = await createPipeline(base, 'bench');
const config: Config = {
  ...pipeline.config,
  processor: {
    ...pipeline.config.processor,
    trustStore: path.join(trustDir, 'trust-store.json'),
    workers,
  },
};
const kafka = createKafka(config, 'bench');
const topics = resolveTopics(config);
const logger = createLogger({ level: logLevel as 'silent' });

async function teardown(): Promise<void> {
  await pipeline.teardown();
  rmSync(trustDir, { recursive: true, force: true });
}
/** Stops what runs (the stage, the pool) when interrupted; set while something runs. */
let stopRunning: (() => Promise<void>) | undefined;
// Interrupted (Ctrl-C): still leave no private topics, subjects or group behind.
process.once('SIGINT', () => {
  log('interrupted');
  void (stopRunning?.() ?? Promise.resolve())
    .catch(() => undefined)
    .then(teardown)
    .finally(() => process.exit(130));
});

/** The stage's logic with its validate() and flatten() calls timed. */
function timed<A extends Accepted>(logic: ProcessorLogic<A>) {
  const spent = {
    validateMs: 0,
    validateCalls: 0,
    flattenMs: 0,
    flattenCalls: 0,
    /** When the first chunk's validation started (performance.now()). */
    firstValidateAt: undefined as number | undefined,
  };
  const wrapped: ProcessorLogic<A> = {
    async validate(values, nowNs) {
      const started = performance.now();
      spent.firstValidateAt ??= started;
      try {
        return await logic.validate(values, nowNs);
      } finally {
        spent.validateMs += performance.now() - started;
        spent.validateCalls++;
      }
    },
    flatten(accepted, previous) {
      const started = performance.now();
      try {
        return logic.flatten(accepted, previous);
      } finally {
        spent.flattenMs += performance.now() - started;
        spent.flattenCalls++;
      }
    },
    dlqHeaders: (rejected, source, nowMs) => logic.dlqHeaders(rejected, source, nowMs),
  };
  return { logic: wrapped, spent };
}

/** Sum and count of a histogram of `metrics`. */
async function histogram(metrics: Registry, name: string): Promise<{ sum: number; count: number }> {
  const values = (await metrics.getSingleMetric(name)?.get())?.values ?? [];
  const pick = (suffix: string) =>
    values.find((v) => (v as { metricName?: string }).metricName === `${name}_${suffix}`)?.value ?? 0;
  return { sum: pick('sum'), count: pick('count') };
}

try {
  log(`private topics ${config.topics.raw} and siblings, group ${config.processor.groupId}`);
  const { rawSchemaId } = pipeline;
  const rawPartitions = topics.find((t) => t.name === config.topics.raw)?.spec.partitions;

  // ----------------------------------------------------------------------------------------
  // Envelopes

  // The default profile's 29 metric definitions, one value each (the first row of each table);
  // with --all-rows, every row the recorded walk has (71 values, as a real poll of that snmpd).
  log(`building and signing ${envelopeCount} envelopes (${deviceCount} devices)`);
  const built = await signedEnvelopes({ count: envelopeCount, devices: deviceCount, allRows });
  writeTrustStore(config.processor.trustStore, built.trustStore);
  const envelopes = framed(built.envelopes, rawSchemaId);
  built.envelopes.length = 0;
  const values = envelopes.map((e) => e.value);
  const meanBytes = values.reduce((sum, v) => sum + v.length, 0) / values.length;
  results.envelopeBytes = meanBytes;
  results.metricsPerEnvelope = built.metricsPerEnvelope;

  // ----------------------------------------------------------------------------------------
  // 2. Validation alone

  const validation: Record<string, unknown>[] = [];
  for (let threads = 1; threads <= workers; threads++) {
    const threadConfig = { ...config, processor: { ...config.processor, workers: threads } };
    const created = await createProcessorLogic({
      config: threadConfig,
      logger,
      metrics: createMetricsRegistry('bench'),
    });
    try {
      const { logic } = created;
      // As the stage calls it: chunks of 500, one per partition in flight, 6 partitions at once.
      const validateAll = async (all: readonly Buffer[]) => {
        const nowNs = BigInt(Date.now()) * 1_000_000n;
        let accepted = 0;
        let next = 0;
        const lane = async () => {
          while (next < all.length) {
            const chunk = all.slice(next, next + chunkMessages);
            next += chunkMessages;
            for (const r of await logic.validate(chunk, nowNs)) {
              if (r.ok) accepted++;
              else throw new Error(`envelope rejected in the benchmark: ${r.reason}: ${r.detail}`);
            }
          }
        };
        await Promise.all(Array.from({ length: partitionsInFlight }, lane));
        return accepted;
      };
      log(`validation alone, ${threads} worker thread${threads === 1 ? '' : 's'}`);
      await validateAll(values.slice(0, 2_000)); // warm-up: threads started, JIT, key import
      const [accepted, cpu] = await measure(brokerPid, () => validateAll(values));
      const perS = accepted / cpu.wallS;
      validation.push({ threads, accepted, perS, cpu });
      rows.push(
        row({
          stage: `validate, ${threads} worker${threads === 1 ? '' : 's'}`,
          unit: 'envelopes/s',
          rate: perS,
          reference,
          referenceRate: opensslVerify,
          notes:
            `${(perS / (threads * opensslVerify)).toFixed(2)} per core used (${threads} × openssl); CPU: this ` +
            `process ${cores(cpu.process, cpu.wallS)} cores (main thread ${cores(cpu.mainThread, cpu.wallS)}), ` +
            `Kafka broker ${cpu.broker === undefined ? '?' : cores(cpu.broker, cpu.wallS)}, other processes ${others(cpu)}`,
        }),
        row({
          stage: `validate, ${threads} worker${threads === 1 ? '' : 's'}, per core`,
          unit: 'envelopes/s/core',
          rate: perS / threads,
          reference,
          referenceRate: opensslVerify,
          goal: 0.7,
        }),
      );
    } finally {
      await created.close();
    }
  }
  results.validation = validation;

  // ----------------------------------------------------------------------------------------
  // 3. The whole stage

  log(
    `producing ${envelopeCount} envelopes to ${config.topics.raw} (${rawPartitions} partitions, not timed)`,
  );
  await produceAll(config, config.topics.raw, envelopes);
  // Not needed any more: the stage should not pay for scanning them in its garbage collections.
  envelopes.length = 0;
  values.length = 0;

  const metrics = createMetricsRegistry('bench');
  const created = await createProcessorLogic({ config, logger, metrics });
  const { logic, spent } = timed(created.logic);
  log(`processor: ${workers} worker threads, until ${envelopeCount} messages are committed`);
  const elu = performance.eventLoopUtilization();
  const startedAt = performance.now();
  const stage = await startProcessor({ config, kafka, logic, logger, metrics, ...stageOptions });
  stopRunning = async () => {
    await stage.close();
    await created.close();
  };
  let cpu: CpuUse;
  let processElu: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  try {
    let progressAt = performance.now();
    let progressIn = 0;
    let loggedAt = performance.now();
    /** Waits until `done()`; throws when nothing was committed for `stallMs`. */
    const waitUntil = async (done: () => boolean) => {
      while (!done()) {
        const now = performance.now();
        const { in: committed } = stage.stats();
        if (committed !== progressIn) {
          progressIn = committed;
          progressAt = now;
        } else if (now - progressAt > stallMs) {
          throw new Error(
            `the stage committed nothing for ${stallMs / 1000} s (${committed} of ${envelopeCount}); ` +
              'run again with --log-level warn to see why',
          );
        }
        if (now - loggedAt > 2_000) {
          loggedAt = now;
          log(`  ${committed} / ${envelopeCount} committed`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    // Phase 1: the group join and partition take-over, until the first chunk is being validated.
    await waitUntil(() => spent.firstValidateAt !== undefined);
    processElu = performance.eventLoopUtilization();
    // Phase 2: processing, from the first chunk's validation to the last commit. (Timing from the
    // first commit instead would leave out the first chunks of the other partitions, in flight.)
    [, cpu] = await measure(brokerPid, () => waitUntil(() => stage.stats().in >= envelopeCount));
    const doneAt = performance.now();
    const mainElu = performance.eventLoopUtilization(processElu);
    const chunk = await histogram(metrics, 'amoskys_processor_chunk_seconds');
    const stats = stage.stats();
    if (stats.accepted !== envelopeCount) {
      throw new Error(`expected ${envelopeCount} accepted, got ${JSON.stringify(stats)}`);
    }
    const firstValidateAt = spent.firstValidateAt as number;
    const processed = envelopeCount;
    const processS = (doneAt - firstValidateAt) / 1000;
    const perS = processed / processS;
    const chunks = chunk.count;
    const chunkS = chunk.sum;
    const { validateMs, flattenMs } = spent;
    const restMs = chunkS * 1000 - validateMs - flattenMs;
    const startS = (firstValidateAt - startedAt) / 1000;
    const wholeS = (doneAt - startedAt) / 1000;
    results.stage = {
      startS,
      processS,
      messages: processed,
      perS,
      wholePerS: envelopeCount / wholeS,
      chunks,
      chunkS,
      validateMs,
      flattenMs,
      restMs,
      cpu,
      mainEventLoopUtilization: mainElu.utilization,
      overallEventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    };
    rows.push(
      row({
        stage: `processor, ${workers} workers`,
        unit: 'envelopes/s',
        rate: perS,
        reference,
        referenceRate: opensslVerify,
        notes:
          `${processed} messages in ${processS.toFixed(1)} s from the first chunk's validation to the last commit (the ` +
          `${startS.toFixed(1)} s of group join and take-over before it not counted; ${Math.round(envelopeCount / wholeS)}/s ` +
          `counting it); ${(perS / (workers * opensslVerify)).toFixed(2)} per core used (${workers} × openssl). ` +
          `${chunks} chunks of ${Math.round(processed / chunks)} on average, ${Math.round((1000 * chunkS) / chunks)} ms ` +
          `each, up to ${concurrencyArg ?? 6} partitions at once; of chunk time, validate ` +
          `${pct(validateMs, chunkS * 1000)} (pool queue included), flatten ${pct(flattenMs, chunkS * 1000)}, ` +
          `dedup + transaction ${pct(restMs, chunkS * 1000)}. CPU: this process ${cores(cpu.process, cpu.wallS)} cores = ` +
          `main thread ${cores(cpu.mainThread, cpu.wallS)} (event loop busy ${pct(mainElu.utilization, 1)}; ` +
          `${us(cpu.mainThread * 1000, processed)} CPU per envelope; flatten, the poll's decode included, ` +
          `${us(flattenMs, processed)} wall time per envelope) + worker threads ${cores(cpu.process - cpu.mainThread, cpu.wallS)}; Kafka broker ` +
          `${cpu.broker === undefined ? '?' : cores(cpu.broker, cpu.wallS)}; other processes ${others(cpu)}`,
      }),
      row({
        stage: `processor, ${workers} workers, per core`,
        unit: 'envelopes/s/core',
        rate: perS / workers,
        reference,
        referenceRate: opensslVerify,
        goal: 0.7,
      }),
    );
  } finally {
    await stage.close();
    await created.close();
  }
} finally {
  log('deleting the private topics, subjects and group');
  await teardown();
}

process.stdout.write(
  `\nProcessor. ${opensslVersion}; Node ${process.version} (OpenSSL ${process.versions.openssl}); ` +
    `${availableParallelism()} cores shared with the Kafka broker; envelopes: ${results.metricsPerEnvelope} metrics, ` +
    `${Math.round(results.envelopeBytes as number)} bytes framed, ${deviceCount} devices, one key; other processes used ` +
    `${othersDuringOpenssl === undefined ? '?' : othersDuringOpenssl.toFixed(2)} cores during openssl speed\n\n`,
);
printTable(rows);
const file = saveResults('processor', rows, results);
process.stdout.write(`results: ${file}\n`);
