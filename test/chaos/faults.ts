/**
 * The machinery of the fault-injection suite: settings (bounded or full, seed), a seeded fault
 * schedule, the pipeline stages as supervised child processes that can be SIGKILLed, restarts of
 * the local stack's services, and the summary table of what was injected and survived.
 *
 * Everything random comes from one PRNG seeded with `AMOSKYS_CHAOS_SEED` (else the clock), and
 * every line the suite prints carries the seed, so a failing run is replayed with
 * `AMOSKYS_CHAOS_SEED=<seed>`. Replays repeat the schedule (which faults, in which order, the
 * pauses and downtimes), not the exact instant a SIGKILL lands inside a stage.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/core/config/index.ts';
import { repoRoot } from '../../src/core/config/index.ts';
import { type ComponentName, stackEnv } from '../../src/core/stack/index.ts';

/** Every fault the suite injects. */
export const faultKinds = [
  'kill-producer',
  'kill-processor',
  'kill-sink',
  'restart-kafka',
  'restart-registry',
  'restart-clickhouse',
  'restart-snmpd',
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** What each fault does, for the table and the docs. */
export const faultLabels: Record<FaultKind, string> = {
  'kill-producer': 'SIGKILL producer',
  'kill-processor': 'SIGKILL processor',
  'kill-sink': 'SIGKILL sink',
  'restart-kafka': 'restart Kafka broker',
  'restart-registry': 'restart Schema Registry (producer + processor started during the outage)',
  'restart-clickhouse': 'restart ClickHouse',
  'restart-snmpd': 'restart snmpd',
};

/** How long and how hard a run is. */
export interface ChaosSettings {
  mode: 'bounded' | 'full';
  seed: number;
  /** Simulated devices, polled next to the local snmpd. */
  devices: number;
  /** Poll interval of every device, s. */
  intervalS: number;
  /** How many times each fault is injected. */
  counts: Record<FaultKind, number>;
  /** Pause before each fault (after the previous one recovered), ms: [min, max). */
  gapMs: readonly [number, number];
  /** How long a killed stage or a stopped service stays down, ms: [min, max). */
  downtimeMs: readonly [number, number];
  /** A fault not recovered from within this is not survived, ms. */
  recoveryTimeoutMs: number;
}

const once = Object.fromEntries(faultKinds.map((k) => [k, 1])) as Record<FaultKind, number>;

/**
 * Settings from the environment: `AMOSKYS_CHAOS=full` for the long form (default: bounded, the one
 * CI runs), `AMOSKYS_CHAOS_SEED=<integer>` to replay a run.
 */
export function chaosSettings(env: NodeJS.ProcessEnv = process.env): ChaosSettings {
  const mode = env.AMOSKYS_CHAOS ?? 'bounded';
  if (mode !== 'bounded' && mode !== 'full') {
    throw new Error(`AMOSKYS_CHAOS must be "bounded" or "full"; got "${mode}"`);
  }
  const seedText = env.AMOSKYS_CHAOS_SEED;
  const seed = seedText === undefined || seedText === '' ? Date.now() % 1_000_000 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`AMOSKYS_CHAOS_SEED must be a non-negative integer; got "${seedText}"`);
  }
  if (mode === 'bounded') {
    // Each fault once, short pauses: a few minutes on two cores.
    return {
      mode,
      seed,
      devices: 8,
      intervalS: 1,
      counts: once,
      gapMs: [500, 2500],
      downtimeMs: [200, 2500],
      recoveryTimeoutMs: 120_000,
    };
  }
  return {
    mode,
    seed,
    devices: 24,
    intervalS: 1,
    counts: {
      'kill-producer': 4,
      'kill-processor': 4,
      'kill-sink': 4,
      'restart-kafka': 3,
      'restart-registry': 2,
      'restart-clickhouse': 3,
      'restart-snmpd': 3,
    },
    gapMs: [1000, 8000],
    downtimeMs: [200, 8000],
    recoveryTimeoutMs: 180_000,
  };
}

/** Mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One planned fault. */
export interface PlannedFault {
  kind: FaultKind;
  /** Pause before it, ms. */
  gapMs: number;
  /** How long the stage or service stays down, ms. */
  downtimeMs: number;
}

const between = (random: () => number, [min, max]: readonly [number, number]) =>
  Math.floor(min + random() * (max - min));

/** The schedule: every fault its number of times, in a seeded random order, with seeded timings. */
export function planFaults(settings: ChaosSettings, random: () => number): PlannedFault[] {
  const kinds = faultKinds.flatMap((kind) => Array.from({ length: settings.counts[kind] }, () => kind));
  // Fisher-Yates.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  return kinds.map((kind) => ({
    kind,
    gapMs: between(random, settings.gapMs),
    downtimeMs: between(random, settings.downtimeMs),
  }));
}

/** Resolves after `ms`: used for the seeded pauses and downtimes of the schedule, never to wait for a state. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A stage process that exited without being told to. */
export interface UnexpectedExit {
  stage: string;
  atMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what it wrote. */
  tail: string;
}

/** Options of {@link StageProcess}. */
export interface StageProcessOptions {
  /** `producer`, `processor` or `sink`. */
  stage: string;
  /** Arguments after `src/cli/main.ts`. */
  args: readonly string[];
  env: Record<string, string>;
  /** A line the stage writes to stderr once it is working (e.g. `[sink] partitions assigned`). */
  readyMarker: string;
  /** Where its stdout and stderr go (appended, across restarts). */
  logFile: string;
  /** Called for every exit nobody asked for (the stage is restarted after it, as a supervisor would). */
  onUnexpectedExit: (exit: UnexpectedExit) => void;
  /** How long start() waits for the ready marker, ms. @default 180_000 */
  readyTimeoutMs?: number;
}

/**
 * One pipeline stage (`amoskys <stage> run`) as a child process, supervised: an exit the test did
 * not cause is recorded and the stage started again a second later, like compose or Kubernetes
 * would, so the run goes on to its reconciliation and reports every such exit.
 */
export class StageProcess {
  readonly stage: string;
  readonly #options: StageProcessOptions;
  readonly #log: WriteStream;
  #child: ChildProcess | undefined;
  /** Output of the current child since it started (for the ready marker and exit reports). */
  #output = '';
  /** Its stdout alone (where a stage prints its JSON summary on exit). */
  #stdout = '';
  #stopping = false;
  #closed = false;
  /** Starts of this stage, the first included. */
  starts = 0;

  constructor(options: StageProcessOptions) {
    this.stage = options.stage;
    this.#options = options;
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /** True while a child runs. */
  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Spawns the stage; resolves once it wrote its ready marker. Rejects if it exits first or times out. */
  async start(): Promise<void> {
    this.spawn();
    await this.ready();
  }

  /** Spawns the stage without waiting for it (see {@link ready}). */
  spawn(): void {
    if (this.running) throw new Error(`${this.stage} is already running`);
    this.#stopping = false;
    this.#output = '';
    this.#stdout = '';
    this.starts++;
    this.#log.write(`\n===== ${new Date().toISOString()} start ${this.starts} of ${this.stage} =====\n`);
    const child = spawn(process.execPath, [`${repoRoot}/src/cli/main.ts`, ...this.#options.args], {
      env: this.#options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      this.#log.write(text);
      // Bounded: a stage that logs in a loop must not fill the test's memory.
      this.#output = (this.#output + text).slice(-200_000);
      if (process.env.AMOSKYS_TEST_VERBOSE === '1') process.stderr.write(`[${this.stage}] ${text}`);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout = (this.#stdout + chunk.toString()).slice(-200_000);
      collect(chunk);
    });
    child.stderr?.on('data', collect);
    child.on('exit', (code, signal) => {
      this.#log.write(
        `===== ${new Date().toISOString()} ${this.stage} exited: code ${code}, signal ${signal} =====\n`,
      );
      if (this.#stopping || this.#closed || this.#child !== child) return;
      this.#options.onUnexpectedExit({
        stage: this.stage,
        atMs: Date.now(),
        code,
        signal,
        tail: this.#output.slice(-2000),
      });
      setTimeout(() => {
        if (!this.#closed && !this.running) this.spawn();
      }, 1000);
    });
  }

  /** Resolves when the current child wrote its ready marker (a child restarted by supervision counts). */
  async ready(): Promise<void> {
    const timeoutMs = this.#options.readyTimeoutMs ?? 180_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.running && this.#output.includes(this.#options.readyMarker)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.stage} did not write "${this.#options.readyMarker}" within ${timeoutMs} ms; its output ends with:\n${this.#output.slice(-2000)}`,
        );
      }
      await pause(100);
    }
  }

  /** Sends `signal` and resolves when the child is gone; the exit is not reported as unexpected. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.#child;
    if (child === undefined || !this.running) return { code: child?.exitCode ?? null, signal: null };
    this.#stopping = true;
    // 'close', not 'exit': the last of stdout (a stage's JSON summary) has been read by then.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, sig) => resolve({ code, signal: sig })),
    );
    child.kill(signal);
    return exited;
  }

  /** What the current (or last) child wrote to stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  /** What the current (or last) child wrote to stdout. */
  get stdout(): string {
    return this.#stdout;
  }

  /** SIGKILLs the child if it still runs and stops supervising. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.running) await this.kill('SIGKILL');
    this.#closed = true;
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }
}

/** Runs `infra/local/<component>.sh <action>` for the stack of `config`; output goes to `logFile`. */
export function serviceScript(
  config: Config,
  component: ComponentName,
  action: 'up' | 'down' | 'status',
  logFile: string,
): Promise<number> {
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`\n===== ${new Date().toISOString()} ${component}.sh ${action} =====\n`);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(repoRoot, 'infra', 'local', `${component}.sh`), action], {
      env: { ...process.env, ...stackEnv(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.on('error', reject);
    child.on('close', (code) => {
      log.end();
      resolve(code ?? 1);
    });
  });
}

/** What happened to one injected fault. */
export interface FaultRecord {
  kind: FaultKind;
  /** Position in the schedule, from 1. */
  index: number;
  /** When the fault was injected, ms since the epoch. */
  injectedAtMs: number;
  /** Planned downtime, ms. */
  downtimeMs: number;
  /** When the stage or service was back (restarted and ready, `up` returned), ms since the epoch. */
  restoredAtMs: number | null;
  /**
   * Recovery: from `restoredAtMs` to the first feature row in ClickHouse of an envelope built after
   * it (for snmpd: the first answered poll of the snmpd device), ms. Null when not seen in time.
   */
  recoveryMs: number | null;
  /**
   * Polls never produced because the producer was not running (slots of the raw topic without an
   * envelope, inside this fault's window). Not loss: nothing was collected for them.
   */
  slotsNotProduced: number;
  /** Stage exits nobody asked for while this fault was in progress or recovering. */
  unexpectedExits: UnexpectedExit[];
  survived: boolean;
  /** Why not, or what else was seen. */
  notes: string[];
}

/** One row of the summary table. Times in s, median and max over the injections where measured. */
export interface SummaryRow {
  fault: string;
  injected: number;
  survived: number;
  /** From the fault to the stage or service being back (downtime and start included). */
  backMedianS: number | null;
  backMaxS: number | null;
  /** From being back to the first feature row of an envelope built after that. */
  recoveryMedianS: number | null;
  recoveryMaxS: number | null;
  /** Slots not polled while the producer was down, all injections together. */
  slotsNotProduced: number;
}

/** Median and max of the measured values, in s with one decimal. */
function spread(values: readonly (number | null)[]): [number | null, number | null] {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return [null, null];
  const s = (ms: number) => Math.round(ms / 100) / 10;
  return [s(sorted[Math.floor((sorted.length - 1) / 2)] as number), s(sorted[sorted.length - 1] as number)];
}

/** Folds the records into one row per fault kind, in the order of {@link faultKinds}. */
export function summarize(records: readonly FaultRecord[]): SummaryRow[] {
  return faultKinds
    .map((kind) => {
      const of = records.filter((r) => r.kind === kind);
      const [backMedianS, backMaxS] = spread(
        of.map((r) => (r.restoredAtMs === null ? null : r.restoredAtMs - r.injectedAtMs)),
      );
      const [recoveryMedianS, recoveryMaxS] = spread(of.map((r) => r.recoveryMs));
      return {
        fault: faultLabels[kind],
        injected: of.length,
        survived: of.filter((r) => r.survived).length,
        backMedianS,
        backMaxS,
        recoveryMedianS,
        recoveryMaxS,
        slotsNotProduced: of.reduce((sum, r) => sum + r.slotsNotProduced, 0),
      };
    })
    .filter((row) => row.injected > 0);
}

/** The summary as a Markdown table (what docs/reliability.md shows). */
export function renderSummary(rows: readonly SummaryRow[]): string {
  const s = (median: number | null, max: number | null) =>
    median === null || max === null ? '-' : `${median.toFixed(1)} / ${max.toFixed(1)}`;
  const lines = [
    '| Fault | Injected | Survived | Back after, s (median / max) | Next stored row after, s (median / max) | Polls not produced |',
    '|---|---:|---|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.injected} | ${r.survived === r.injected ? 'yes' : `NO (${r.survived} of ${r.injected})`} | ${s(r.backMedianS, r.backMaxS)} | ${s(r.recoveryMedianS, r.recoveryMaxS)} | ${r.slotsNotProduced} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** Writes the run's report as JSON; returns the file. */
export function writeReport(dir: string, stamp: string, report: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
