/**
 * `npm run bench`: every benchmark, one after another, and one table of their headline rows.
 *
 *   node bench/run.ts [--only crypto,producer,processor,sink,pipeline] [--quick]
 *     [--compare SUMMARY.json] [--from SUMMARY.json] [--json]
 *
 * Each benchmark runs in a child process (its own table and progress go to stderr) and saves its
 * rows to `.amoskys/bench/<name>.json`; this collects them, prints one table of the rows that have
 * a goal and the few that say most about each stage (HEADLINES below), and saves everything, every
 * row of every benchmark included, as `.amoskys/bench/summary-<git short sha>-<UTC time>.json` and
 * `summary-latest.json`: `--compare` an earlier one to see how each ratio moved. Ratios, not
 * rates, are what compare between runs and commits: each benchmark measures its reference in the
 * same run, and these 2-core machines are shared with other work (the load average at the start
 * and the end is printed and saved).
 *
 * Needs the local stack; starts what of it is down, as `bin/test` does. About 4 minutes on 2 cores
 * (`--quick`: smaller sizes, about 2.5).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, repoRoot } from '../src/core/config/index.ts';
import { stackStatus, stackUp } from '../src/core/stack/index.ts';
import { type BenchRow, printColumns, printTable, saveResults } from './lib.ts';

/** A benchmark: its file, the name it saves its results under, and its arguments for --quick. */
interface Bench {
  name: string;
  file: string;
  result: string;
  quick: string[];
  /** Rows shown besides those with a goal (rows are matched by stage name, and unit where given). */
  headlines: { stage: RegExp; unit?: string }[];
}

const BENCHES: readonly Bench[] = [
  {
    name: 'crypto',
    file: 'bench/crypto/sign-verify.ts',
    result: 'crypto-sign-verify',
    quick: ['--seconds', '1'],
    // Verifying a whole envelope on one core: the processor's and the sink's floor per envelope.
    headlines: [{ stage: /^node:crypto verifyEnvelopeBytes$/ }],
  },
  {
    name: 'producer',
    file: 'bench/producer/producer.ts',
    result: 'producer',
    quick: ['--seconds', '1', '--devices', '100'],
    headlines: [
      { stage: /^poll \d+ sim\. agents \(child\)/, unit: 'devices/s' },
      { stage: /^build \+ sign \+ frame \+ send$/, unit: 'envelopes/s' },
    ],
  },
  {
    name: 'processor',
    file: 'bench/processor/processor.ts',
    result: 'processor',
    quick: ['--envelopes', '5000'],
    headlines: [],
  },
  {
    name: 'sink',
    file: 'bench/sink/sink.ts',
    result: 'sink',
    quick: ['--envelopes', '5000', '--runs', '1', '--stage-batch-rows', '100000'],
    headlines: [{ stage: /^sink stage, batchRows / }],
  },
  {
    name: 'pipeline',
    file: 'bench/pipeline/pipeline.ts',
    result: 'pipeline',
    quick: ['--envelopes', '3000'],
    headlines: [{ stage: /^produce -> processor -> sink$/ }],
  },
];

const HELP = `Usage: npm run bench -- [options]      (or: node bench/run.ts [options])

Runs the benchmarks one after another (${BENCHES.map((b) => b.name).join(', ')}), each in a child
process whose output goes to stderr, then prints one table on stdout: stage, rate and unit, the
reference measured in the same run and its rate, the ratio, and the goal where one is set. Saves
the table and every benchmark's full results as .amoskys/bench/summary-<sha>-<time>.json and
.amoskys/bench/summary-latest.json. Starts the local stack's components that are down.

Options:
  --only a,b          run only these benchmarks
  --quick             smaller sizes (fewer envelopes, shorter measurements): about half the time
  --compare FILE      also print how each ratio moved since an earlier summary
  --from FILE         run nothing: print (and --compare) a saved summary
  --json              the summary as JSON on stdout instead of the table
  --help              this text

Examples:
  npm run bench
  npm run bench -- --only processor,pipeline --quick
  npm run bench -- --compare .amoskys/bench/summary-latest.json
  node bench/run.ts --from .amoskys/bench/summary-6201438-20261129T080000Z.json --compare old.json

Exit status: 1 when a benchmark failed (the others still run), 2 on a usage error, else 0; a
missed goal is reported, not an error.
`;

/** A row of the summary: a benchmark's row, named after the benchmark. */
interface SummaryRow extends BenchRow {
  bench: string;
}

/** What one benchmark run left. */
interface BenchOutcome {
  ok: boolean;
  seconds: number;
  args: string[];
  error?: string;
  /** The benchmark's saved results: `{ name, at, node, rows, ... }`. */
  results?: { rows: BenchRow[] } & Record<string, unknown>;
}

/** A saved summary. */
interface Summary {
  name: string;
  at: string;
  node: string;
  rows: SummaryRow[];
  commit: string;
  dirty: boolean;
  quick: boolean;
  cores: number;
  loadAverage: { start: number[]; end: number[] };
  benches: Record<string, BenchOutcome>;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

function readSummary(file: string): Summary {
  const summary = JSON.parse(readFileSync(file, 'utf8')) as Summary;
  if (
    summary.name === undefined ||
    !summary.name.startsWith('summary') ||
    typeof summary.benches !== 'object'
  ) {
    throw new Error(`${file} is not a summary saved by bench/run.ts`);
  }
  return summary;
}

/** Runs one benchmark in a child process; its stdout and stderr go to this process's stderr. */
async function runBench(bench: Bench, args: string[], resultsFile: string): Promise<BenchOutcome> {
  const started = performance.now();
  const startedAtMs = Date.now();
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, bench.file), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.on('error', (err) => resolve(err.message));
    child.on('exit', (exitCode, signal) => resolve(signal ?? exitCode ?? 'unknown'));
  });
  const seconds = (performance.now() - started) / 1000;
  // A results file older than this run is a previous run's: not this one's.
  const fresh = existsSync(resultsFile) && statSync(resultsFile).mtimeMs >= startedAtMs;
  if (code !== 0 || !fresh) {
    return {
      ok: false,
      seconds,
      args,
      error: code !== 0 ? `exited with ${code}` : `exited with 0 but saved no ${path.basename(resultsFile)}`,
    };
  }
  return {
    ok: true,
    seconds,
    args,
    results: JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchOutcome['results'] & object,
  };
}

/** The rows of the one table: those with a goal, and each benchmark's headlines, in its order. */
function headlineRows(benches: Record<string, BenchOutcome>): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [name, outcome] of Object.entries(benches)) {
    const headlines = BENCHES.find((b) => b.name === name)?.headlines ?? [];
    for (const r of outcome.results?.rows ?? []) {
      const shown =
        r.goal !== undefined ||
        headlines.some((h) => h.stage.test(r.stage) && (h.unit === undefined || h.unit === r.unit));
      if (shown) rows.push({ ...r, bench: name, stage: `${name}: ${r.stage}` });
    }
  }
  return rows;
}

function printSummary(summary: Summary): void {
  const when = `${summary.at}, commit ${summary.commit}${summary.dirty ? ' + uncommitted changes' : ''}`;
  process.stdout.write(
    `\nBenchmarks${summary.quick ? ' (--quick)' : ''}: ${when}; Node ${summary.node}; ${summary.cores} cores; ` +
      `load average (1, 5, 15 min) ${summary.loadAverage.start.map((l) => l.toFixed(2)).join(' ')} at the start, ` +
      `${summary.loadAverage.end.map((l) => l.toFixed(2)).join(' ')} at the end\n\n`,
  );
  // The notes stay in each benchmark's results: the summary is one line per row.
  printTable(summary.rows.map(({ notes: _notes, ...r }) => r));
  for (const [name, outcome] of Object.entries(summary.benches)) {
    if (!outcome.ok) process.stdout.write(`  ${name}: FAILED (${outcome.error})\n`);
  }
}

/** How each ratio of `now` moved since `before` (rows matched by benchmark, stage and unit). */
function printComparison(now: Summary, before: Summary, file: string): void {
  const earlier = new Map<string, BenchRow>();
  for (const [name, outcome] of Object.entries(before.benches)) {
    for (const r of outcome.results?.rows ?? []) earlier.set(`${name}: ${r.stage}|${r.unit}`, r);
  }
  process.stdout.write(
    `\nCompared with ${file} (${before.at}, commit ${before.commit}${before.dirty ? ' + changes' : ''}; ` +
      `load average ${before.loadAverage.start[0]?.toFixed(2)} at its start)\n\n`,
  );
  const header = ['stage', 'unit', 'ratio then', 'ratio now', 'change'];
  const cells = now.rows.map((r) => {
    const then = earlier.get(`${r.stage}|${r.unit}`);
    const change =
      then === undefined || !(then.ratio > 0)
        ? 'new'
        : `${r.ratio >= then.ratio ? '+' : ''}${(r.ratio - then.ratio).toFixed(2)} (${r.ratio >= then.ratio ? '+' : ''}${Math.round((100 * (r.ratio - then.ratio)) / then.ratio)} %)`;
    return [r.stage, r.unit, then === undefined ? '-' : then.ratio.toFixed(2), r.ratio.toFixed(2), change];
  });
  printColumns(header, cells);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      compare: { type: 'string' },
      from: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const before = values.compare === undefined ? undefined : readSummary(values.compare);
  let summary: Summary;
  if (values.from !== undefined) {
    summary = readSummary(values.from);
  } else {
    const only = values.only?.split(',').map((s) => s.trim());
    const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
    if (unknown.length > 0) {
      throw new Error(
        `unknown benchmark ${unknown.join(', ')}: choose from ${BENCHES.map((b) => b.name).join(', ')}`,
      );
    }
    const selected = BENCHES.filter((b) => only === undefined || only.includes(b.name));

    const { config } = loadConfig();
    const down = (await stackStatus(config)).filter((s) => !s.healthy).map((s) => s.name);
    if (down.length > 0) {
      log(`starting local stack components: ${down.join(', ')}`);
      await stackUp(config);
    }

    const loadStart = loadavg();
    log(
      `running ${selected.map((b) => b.name).join(', ')}${values.quick ? ' (--quick)' : ''}; load average ` +
        `${loadStart.map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} cores`,
    );
    const benches: Record<string, BenchOutcome> = {};
    for (const bench of selected) {
      const args = values.quick ? bench.quick : [];
      log(`--- ${bench.name}: node ${bench.file} ${args.join(' ')}`.trimEnd());
      const outcome = await runBench(
        bench,
        args,
        path.join(config.stateDir, 'bench', `${bench.result}.json`),
      );
      benches[bench.name] = outcome;
      log(
        `--- ${bench.name}: ${outcome.ok ? 'done' : `FAILED: ${outcome.error}`} in ${Math.round(outcome.seconds)} s; ` +
          `load average ${loadavg()[0]?.toFixed(2)}`,
      );
    }
    const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
    const extra = {
      commit,
      dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
      quick: values.quick,
      cores: availableParallelism(),
      loadAverage: { start: loadStart, end: loadavg() },
      benches,
    };
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const rows = headlineRows(benches);
    const file = saveResults(`summary-${commit}-${stamp}`, rows, extra);
    copyFileSync(file, path.join(path.dirname(file), 'summary-latest.json'));
    summary = readSummary(file);
    log(`saved ${file} (and summary-latest.json)`);
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    printSummary(summary);
    if (before !== undefined && values.compare !== undefined)
      printComparison(summary, before, values.compare);
  }
  return Object.values(summary.benches).every((b) => b.ok) ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
