/**
 * Shared pieces of the benchmarks. A benchmark never reports a bare number: it measures a
 * reference on the same machine in the same run (openssl, clickhouse-client, snmpbulkwalk, ...)
 * and prints the ratio next to both, because absolute rates on shared 2-core machines vary
 * from run to run while ratios measured side by side hold.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/core/config/index.ts';

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

/** Prints rows as an aligned table on stdout. */
export function printTable(rows: readonly BenchRow[]): void {
  const header = ['stage', 'rate', 'unit', 'reference', 'ref rate', 'ratio', 'goal'];
  const cells = rows.map((r) => [
    r.stage,
    fmt(r.rate),
    r.unit,
    r.reference,
    fmt(r.referenceRate),
    r.ratio.toFixed(2),
    r.goal === undefined ? '' : `>= ${r.goal}${r.ratio >= r.goal ? '' : ' (missed)'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header), ...cells.map(line)].join('\n')}\n`);
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
