/**
 * One stage of bench/pipeline in a process of its own, as it is deployed: the processor and the
 * sink each get their own event loop (and the processor its worker threads), so that in the
 * pipeline run they overlap on the machine's cores instead of taking turns on one main thread.
 * Started by {@link startStage}; the stage's input arrives in the environment, its events leave as
 * JSON lines on stdout, its logs go to stderr.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createClickHouse } from '../../src/core/clickhouse/index.ts';
import { type Config, trustStoreFile } from '../../src/core/config/index.ts';
import { readTrustStore, toTrustSnapshot } from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../src/core/metrics/index.ts';
import { createProcessorLogic, startProcessor } from '../../src/processors/telemetry/index.ts';
import { startSink } from '../../src/sinks/clickhouse/index.ts';

const inputEnv = 'AMOSKYS_BENCH_PIPELINE_STAGE';
/** The stage made no progress for this long after it was assigned its partitions: stuck, not slow. */
const stallMs = 60_000;

/** What the parent hands a stage process. */
export interface StageInput {
  stage: 'processor' | 'sink';
  config: Config;
  /**
   * Done when this many raw messages were committed (processor), or this many raw and this many
   * feature messages had their rows acknowledged by ClickHouse and committed (sink).
   */
  messages: number;
  /** pino level of the stage's logs on stderr. */
  logLevel: string;
}

/** The stage's last word: when it was done and what it did. Times are epoch ms (`performance.timeOrigin` based). */
export interface StageDone {
  stage: StageInput['stage'];
  startedAtMs: number;
  /** Partitions assigned: the consumer group joined. */
  assignedAtMs: number;
  /** Processor: its first chunk's validation began (partition take-over, state restore, before it). */
  firstWorkAtMs?: number;
  doneAtMs: number;
  /** CPU of the whole process (main thread and worker threads) from assignment to done, s. */
  cpuS: number;
  stats: unknown;
}

type StageEvent =
  | { event: 'assigned'; atMs: number }
  | { event: 'progress'; atMs: number; done: number }
  | ({ event: 'done' } & StageDone);

const epochMs = () => performance.timeOrigin + performance.now();
const emit = (e: StageEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

async function runStage(input: StageInput): Promise<void> {
  const { config, messages } = input;
  const logger = createLogger({ level: input.logLevel as 'silent' });
  const metrics = createMetricsRegistry(`bench-${input.stage}`);
  const kafka = createKafka(config, `bench-${input.stage}`, logger);
  const startedAtMs = epochMs();
  let assignedAtMs: number | undefined;
  let cpuAtAssignment: NodeJS.CpuUsage | undefined;
  const onAssigned = () => {
    if (assignedAtMs !== undefined) return;
    assignedAtMs = epochMs();
    cpuAtAssignment = process.cpuUsage();
    emit({ event: 'assigned', atMs: assignedAtMs });
  };

  let stage: { close(): Promise<void> };
  let progress: () => number;
  let stats: () => unknown;
  let firstWorkAtMs: number | undefined;
  const closers: (() => Promise<void>)[] = [];
  if (input.stage === 'processor') {
    const created = await createProcessorLogic({ config, logger, metrics });
    closers.push(created.close);
    const { logic } = created;
    const processor = await startProcessor({
      config,
      kafka,
      logger,
      metrics,
      onAssigned,
      logic: {
        ...logic,
        validate: (values, nowNs) => {
          firstWorkAtMs ??= epochMs();
          return logic.validate(values, nowNs);
        },
      },
    });
    stage = processor;
    progress = () => processor.stats().in;
    stats = () => processor.stats();
  } else {
    const snapshot = toTrustSnapshot(readTrustStore(trustStoreFile(config)));
    const clickhouse = createClickHouse(config);
    closers.push(() => clickhouse.close());
    const sink = await startSink({
      config,
      kafka,
      clickhouse,
      trust: () => snapshot,
      logger,
      metrics,
      onAssigned,
    });
    stage = sink;
    // Both counts must reach `messages`; the smaller one says how far the sink is.
    progress = () => Math.min(sink.stats().messages.raw, sink.stats().messages.features);
    stats = () => sink.stats();
  }
  closers.unshift(() => stage.close());

  try {
    let last = -1;
    let lastAt = epochMs();
    let reportedAt = 0;
    for (;;) {
      const now = epochMs();
      const done = progress();
      if (done >= messages) break;
      if (done !== last || assignedAtMs === undefined) {
        last = done;
        lastAt = now;
      } else if (now - lastAt > stallMs) {
        throw new Error(
          `the ${input.stage} made no progress for ${stallMs / 1000} s (${done} of ${messages}): ` +
            `${JSON.stringify(stats())}; run again with --log-level warn to see why`,
        );
      }
      if (now - reportedAt > 2_000) {
        reportedAt = now;
        emit({ event: 'progress', atMs: now, done });
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const doneAtMs = epochMs();
    const cpu = process.cpuUsage(cpuAtAssignment);
    emit({
      event: 'done',
      stage: input.stage,
      startedAtMs,
      assignedAtMs: assignedAtMs ?? startedAtMs,
      ...(firstWorkAtMs === undefined ? {} : { firstWorkAtMs }),
      doneAtMs,
      cpuS: (cpu.user + cpu.system) / 1e6,
      stats: stats(),
    });
  } finally {
    for (const close of closers) await close();
  }
}

/** A stage process, as the parent sees it. */
export interface StageProcess {
  /** Resolves with the epoch ms of the assignment; rejects when the process ends before it. */
  assigned: Promise<number>;
  /** Resolves when the stage says it reached its target (before it closes and exits). */
  reported: Promise<StageDone>;
  /** Resolves once the stage reached its target and the process exited cleanly. */
  done: Promise<StageDone>;
  /** Stops the process (SIGTERM), e.g. when the other stage failed. */
  stop(): void;
}

/** Starts a stage in a child process. `onProgress` hears its count every 2 s. */
export function startStage(input: StageInput, onProgress?: (done: number) => void): StageProcess {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname], {
    env: { ...process.env, [inputEnv]: JSON.stringify(input) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let report: StageDone | undefined;
  let onAssigned: ((atMs: number) => void) | undefined;
  let onReport: ((done: StageDone) => void) | undefined;
  const assigned = new Promise<number>((resolve) => {
    onAssigned = resolve;
  });
  const reported = new Promise<StageDone>((resolve) => {
    onReport = resolve;
  });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let e: StageEvent;
    try {
      e = JSON.parse(line) as StageEvent;
    } catch {
      process.stderr.write(`[${input.stage}] ${line}\n`);
      return;
    }
    if (e.event === 'assigned') onAssigned?.(e.atMs);
    else if (e.event === 'progress') onProgress?.(e.done);
    else {
      report = e;
      onReport?.(e);
    }
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && report !== undefined) resolve();
      else reject(new Error(`the ${input.stage} process exited with ${signal ?? code} before it was done`));
    });
  });
  const done = exited.then(() => report as StageDone);
  // Whichever the caller does not await must not become an unhandled rejection.
  done.catch(() => undefined);
  const early = (what: string) =>
    exited.then(() => Promise.reject(new Error(`the ${input.stage} exited before ${what}`)));
  return {
    assigned: Promise.race([assigned, early('it was assigned partitions')]),
    reported: Promise.race([reported, early('it was done')]),
    done,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

const stageInput = process.env[inputEnv];
if (stageInput !== undefined) await runStage(JSON.parse(stageInput) as StageInput);
