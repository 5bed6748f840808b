/**
 * Shared pieces of the benchmarks. A benchmark never reports a bare number: it measures a
 * reference on the same machine in the same run (openssl, clickhouse-client, snmpbulkwalk, ...)
 * and prints the ratio next to both, because absolute rates on shared 2-core machines vary
 * from run to run while ratios measured side by side hold.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Config, loadConfig } from '../src/core/config/index.ts';
import { BatchProducer, createKafka } from '../src/core/kafka/index.ts';
import { createLogger } from '../src/core/logging/index.ts';
import { type ComponentName, stackStatus } from '../src/core/stack/index.ts';

/** One line of a benchmark table. */
export interface BenchRow {
  stage: string;
  /** What was measured, e.g. `verify/s`. */
  unit: string;
  rate: number;
  /** The reference measured in the same run, e.g. `openssl speed ed25519 verify`. */
  reference: string;
  referenceRate: number;
  /** rate / referenceRate. */
  ratio: number;
  /** The ratio the issue asks for, if any. */
  goal?: number;
  notes?: string;
}

export function row(r: Omit<BenchRow, 'ratio'>): BenchRow {
  return { ...r, ratio: r.referenceRate > 0 ? r.rate / r.referenceRate : Number.NaN };
}

const fmt = (n: number) =>
  Number.isNaN(n) ? '-' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);

/** Prints `cells` under `header` on stdout, each column as wide as its widest cell. */
export function printColumns(header: readonly string[], cells: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header), ...cells.map(line)].join('\n')}\n`);
}

/** Prints rows as an aligned table on stdout, then their notes. */
export function printTable(rows: readonly BenchRow[]): void {
  printColumns(
    ['stage', 'rate', 'unit', 'reference', 'ref rate', 'ratio', 'goal'],
    rows.map((r) => [
      r.stage,
      fmt(r.rate),
      r.unit,
      r.reference,
      fmt(r.referenceRate),
      r.ratio.toFixed(2),
      r.goal === undefined ? '' : `>= ${r.goal}${r.ratio >= r.goal ? '' : ' (missed)'}`,
    ]),
  );
  for (const r of rows) if (r.notes) process.stdout.write(`  ${r.stage}: ${r.notes}\n`);
}

/** Saves rows as JSON under `<stateDir>/bench/<name>.json` for comparison between commits. */
export function saveResults(
  name: string,
  rows: readonly BenchRow[],
  extra: Record<string, unknown> = {},
): string {
  const { config } = loadConfig();
  const dir = path.join(config.stateDir, 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), node: process.version, rows, ...extra }, null, 2)}\n`,
  );
  return file;
}

/** Runs a command, returns its output and wall time. */
export async function run(
  cmd: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  return { stdout, stderr, ms: performance.now() - started };
}

/** Calls `fn` repeatedly for at least `seconds`; returns calls per second. */
export function rate(fn: () => void, seconds = 2): number {
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return n / ((performance.now() - started) / 1000);
}

// ------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; clock ticks of 10 ms): what the measured processes used, and what
// everything else on these shared 2-core machines used meanwhile.

/** Busy CPU seconds of the whole machine, all cores: /proc/stat minus idle and iowait. */
export function machineBusyS(): number | undefined {
  try {
    const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9);
    const total = ticks.reduce((sum, t) => sum + Number(t), 0);
    return (total - Number(ticks[3]) - Number(ticks[4])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) process `pid` has used; undefined when it cannot be read. */
export function procCpuS(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return ((f[11] ?? 0) + (f[12] ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

/** Cores busy over a span: the whole machine, ClickHouse, the Kafka broker (absent where unreadable). */
export interface CoresUsed {
  machine?: number;
  clickhouse?: number;
  kafka?: number;
}

/**
 * Starts CPU accounting of the machine and of the servers `pids` names (from {@link requireStack});
 * the returned function gives the cores each kept busy since, over `wallS` seconds.
 */
export function cpuMeter(pids: { clickhouse?: number; kafka?: number }): (wallS: number) => CoresUsed {
  const read = () => ({
    machine: machineBusyS(),
    clickhouse: procCpuS(pids.clickhouse),
    kafka: procCpuS(pids.kafka),
  });
  const before = read();
  return (wallS) => {
    const after = read();
    const used: CoresUsed = {};
    for (const k of ['machine', 'clickhouse', 'kafka'] as const) {
      const a = before[k];
      const b = after[k];
      if (a !== undefined && b !== undefined) used[k] = (b - a) / wallS;
    }
    return used;
  };
}

/** Cores as printed in the notes: two decimals, `?` where unknown. */
export const cores = (n: number | undefined): string => (n === undefined ? '?' : n.toFixed(2));

/** The positive integer after `name` on the command line, else `fallback`; throws on anything else. */
export function intArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** `--log-level` for the stages' pino logs on stderr; `silent` unless given. */
export function logLevelArg(): string {
  const at = process.argv.indexOf('--log-level');
  return at > 0 ? (process.argv[at + 1] ?? 'silent') : 'silent';
}

/**
 * Checks that the local stack's `components` are up (else throws, naming `amoskys stack up`) and
 * returns their process ids where `amoskys stack status` names one, for their CPU use.
 */
export async function requireStack(
  config: Config,
  components: readonly ComponentName[],
): Promise<Partial<Record<ComponentName, number>>> {
  const stack = await stackStatus(config, components);
  const down = stack.filter((s) => !s.healthy);
  if (down.length > 0) {
    throw new Error(`the stack is not up (${down.map((s) => s.name).join(', ')}): run \`amoskys stack up\``);
  }
  const pids: Partial<Record<ComponentName, number>> = {};
  for (const s of stack) {
    const pid = Number(/pid (\d+)/.exec(s.detail)?.[1]);
    if (pid > 0) pids[s.name as ComponentName] = pid;
  }
  return pids;
}

/**
 * Produces `messages` to `topic` with the pipeline's `BatchProducer` and waits until the broker
 * acknowledged every one. `startedAtMs` (epoch ms, `performance.timeOrigin` based, so comparable
 * with other processes' clocks) is taken after the producer connected, before the first send.
 */
export async function produceAll(
  config: Config,
  topic: string,
  messages: readonly { key: string; value: Buffer }[],
): Promise<{ startedAtMs: number; seconds: number }> {
  const producer = new BatchProducer(createKafka(config, 'bench'), createLogger({ level: 'silent' }));
  await producer.start();
  try {
    const started = performance.now();
    await Promise.all(messages.map((m) => producer.send({ topic, ...m })));
    return { startedAtMs: performance.timeOrigin + started, seconds: (performance.now() - started) / 1000 };
  } finally {
    await producer.close();
  }
}
