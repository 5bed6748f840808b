/**
 * The load run (issue 7, item 3): a sustained run of the whole pipeline against a simulated fleet,
 * each stage in a process of its own, as it is deployed.
 *
 *   node bench/load/load.ts [--devices 10000] [--interval 60] [--minutes 10] [--simulators N]
 *     [--sample-seconds 5] [--watch-ms 250] [--drain-seconds 300] [--dedup-retention-seconds S]
 *     [--log-level warn] [--keep]
 *
 * Set-up: a private pipeline (topics and registry subjects from `createPipeline`, a migrated
 * ClickHouse database, consumer groups of its own), a signing key bound to every simulated device
 * and a trust store holding it. `--simulators` child processes (default one per 5,000 devices)
 * each run `startSimulator` (one net-snmp agent and UDP socket per device, ephemeral ports) and
 * hand back their part of the inventory. Then `amoskys processor run` and `amoskys sink run` are
 * started and join their groups, and `amoskys producer run --inventory <fleet> --duration <run>`
 * polls every device once per `--interval`.
 *
 * Measured while it runs:
 * - RSS (VmRSS) and CPU time of every process from /proc every `--sample-seconds`: the three
 *   stages, the simulators, ClickHouse and the Kafka broker; the machine's load average. A process
 *   "plateaued" when the highest RSS of the last third of the production window is at most 5 %
 *   above the highest of the middle third.
 * - Each stage's counters from its `/healthz` (AMOSKYS_METRICS_PORT=0, the port read from its
 *   start line): throughput per stage, the producer scheduler's queue, in-flight polls and
 *   missed slots by reason.
 * - Latency from poll to queryable row. Every `--watch-ms` this process asks ClickHouse for the
 *   rows of `features` and `raw_envelopes` inserted in the last seconds (`inserted_at`, whole
 *   seconds, with a 5 s margin) and keeps the first time it saw each idempotency key: the start of
 *   the first query that returned it, so the true moment lies within the preceding gap between
 *   queries (reported). Latency of a key = first seen in `features` (the row `v_features` shows;
 *   FINAL hides no single row) - the poll's `observed_at_ns` (when the poll began reading the
 *   device). Also: from `envelope_ts_ns` (poll done, envelope signed) to the feature row and to
 *   the raw_envelopes row, and from poll start until both rows are there (what `amoskys analyze`
 *   calls stored). The sink's `amoskys_sink_envelope_age_seconds` histogram (envelope ts_ns to
 *   acknowledged raw insert) is read at the end as a cross-check.
 *
 * After `--minutes` the producer stops by itself; the run waits until the processor has read
 * everything produced and the sink has stored it (at most `--drain-seconds`), reconciles with
 * `amoskys analyze --json` (produced = stored + rejected + duplicates, per device, from the raw
 * topic against ClickHouse) and with the stages' own counts, stops everything and deletes the
 * private pipeline (`--keep` keeps database and topics). Prints tables, saves
 * `.amoskys/bench/load.json` (samples included); the stages' stderr stays in
 * `.amoskys/bench/load-<id>/` for a post-mortem.
 *
 * Needs the local stack (`amoskys stack up`). Linux only (/proc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync, type WriteStream, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { migrations } from '../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate } from '../../src/core/clickhouse/index.ts';
import { type Config, loadConfig, repoRoot } from '../../src/core/config/index.ts';
import {
  generateSigningKey,
  TRUST_STORE_FORMAT,
  type TrustStoreDocument,
  writeKeyFile,
  writeTrustStore,
} from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import type { DeviceInput } from '../../src/producers/snmp/index.ts';
import { jitterOffsetMs, schedulerDefaults, startSimulator } from '../../src/producers/snmp/index.ts';
import { createPipeline } from '../../test/helpers/pipeline.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { type BenchRow, machineBusyS, printTable, requireStack, row, saveResults } from '../lib.ts';

const simulatorChildVar = 'AMOSKYS_LOAD_SIMULATOR_CHILD';
const cli = path.join(repoRoot, 'src/cli/main.ts');
const log = (message: string) => process.stderr.write(`[load] ${message}\n`);

// ------------------------------------------------------------------------------------------
// Simulator child: one process serving part of the fleet

interface SimulatorChildInput {
  index: number;
  count: number;
  community: string;
  intervalS: number;
}

/** Lines the simulator child writes on stdout, one JSON object each. */
type SimulatorLine =
  | { ready: true; devices: DeviceInput[]; startS: number }
  | { served: number }
  | { closed: true; served: number };

async function runSimulatorChild(input: SimulatorChildInput): Promise<void> {
  const started = performance.now();
  const sim = await startSimulator({
    count: input.count,
    community: input.community,
    idPrefix: `load${input.index}`,
    seed: input.index + 1,
  });
  const say = (line: SimulatorLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
  say({
    ready: true,
    devices: sim.inventory({ intervalSeconds: input.intervalS }).devices,
    startS: (performance.now() - started) / 1000,
  });
  const progress = setInterval(() => say({ served: sim.requestsServed() }), 5000);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(progress);
  await sim.close();
  say({ closed: true, served: sim.requestsServed() });
}

// ------------------------------------------------------------------------------------------
// /proc

/** Resident set size of a process, bytes (VmRSS); undefined once it is gone. */
function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) a process has used; undefined once it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return ((f[11] ?? 0) + (f[12] ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a ?? Number.NaN, b ?? Number.NaN, c ?? Number.NaN];
}

// ------------------------------------------------------------------------------------------
// Child processes

/** A child process with its stderr logged to a file and watched line by line. */
interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Everything written on stdout. */
  stdout(): string;
  /** The last 16 KB of stderr. */
  stderrTail(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether it has exited. */
  done(): boolean;
}

function spawnChild(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
  onStdoutLine?: (line: string) => void,
): Child {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`cannot start ${name}`);
  const file: WriteStream = createWriteStream(path.join(logDir, `${name}.stderr.log`));
  let out = '';
  let pending = '';
  let tail = '';
  let done = false;
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    out += text;
    if (onStdoutLine === undefined) return;
    pending += text;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      onStdoutLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    file.write(chunk);
    tail = (tail + chunk.toString()).slice(-16_384);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      file.end();
      resolve({ code, signal });
    }),
  );
  return {
    name,
    process: child,
    pid: child.pid,
    stdout: () => out,
    stderrTail: () => tail,
    exited,
    done: () => done,
  };
}

/** Waits until `child` wrote something matching `pattern` on stderr; fails if it exits first. */
async function waitForLine(child: Child, pattern: RegExp, what: string, timeoutMs = 120_000) {
  return waitFor(
    () => {
      if (child.done())
        throw new Error(`${child.name} exited while waiting for ${what}: ${child.stderrTail()}`);
      return pattern.exec(child.stderrTail()) ?? undefined;
    },
    { description: `${child.name}: ${what}`, timeoutMs, intervalMs: 200 },
  );
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stop(child: Child, graceMs = 60_000): Promise<void> {
  if (child.done()) return;
  child.process.kill('SIGTERM');
  const killed = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(killed);
}

/** The metrics port a stage printed in its start line (`metrics on http://host:port/metrics`). */
async function metricsPort(child: Child): Promise<number> {
  const m = await waitForLine(child, /metrics on http:\/\/[^\s]+:(\d+)\/metrics/, 'its metrics endpoint');
  return Number(m[1]);
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

async function getText(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return await res.text();
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------
// Statistics

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

interface Distribution {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

/** Quantile bounds from a Prometheus histogram's cumulative buckets: the bucket a quantile falls in. */
function histogramQuantiles(
  metricsText: string,
  name: string,
  qs: readonly number[],
): { count: number; upperBounds: Record<string, string> } {
  const buckets: { le: number; count: number }[] = [];
  const re = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const m of metricsText.matchAll(re)) {
    buckets.push({ le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), count: Number(m[2]) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const count = buckets.at(-1)?.count ?? 0;
  const upperBounds: Record<string, string> = {};
  for (const q of qs) {
    const b = buckets.find((x) => x.count >= q * count);
    upperBounds[`p${q * 100}`] =
      b === undefined ? '-' : b.le === Number.POSITIVE_INFINITY ? '+Inf' : `<= ${b.le} s`;
  }
  return { count, upperBounds };
}

// ------------------------------------------------------------------------------------------
// Latency watcher: when does each key become queryable?

interface KeySeen {
  /** When the scheduler wanted the poll to start: slot start + the device's offset, ms. */
  dueMs?: number;
  observedMs?: number;
  envelopeMs?: number;
  featureSeenMs?: number;
  rawSeenMs?: number;
}

interface Watcher {
  keys: Map<string, KeySeen>;
  /** Gaps between the starts of consecutive rounds, ms (the resolution of first-seen). */
  gapsMs: number[];
  /** Duration of each round (both queries), ms. */
  roundMs: number[];
  errors: number;
  stop(): Promise<void>;
}

const offsets = new Map<string, number>();

/**
 * When the scheduler wanted the poll of `key` (`<device>/<interval_s>/<slot>`) to start, ms:
 * slot × interval + the device's fixed offset (scheduler.ts), with the default jitter fraction.
 */
function dueMs(key: string): number | undefined {
  const slotAt = key.lastIndexOf('/');
  const intervalAt = key.lastIndexOf('/', slotAt - 1);
  if (intervalAt <= 0) return undefined;
  const device = key.slice(0, intervalAt);
  const intervalMs = Number(key.slice(intervalAt + 1, slotAt)) * 1000;
  let offset = offsets.get(device);
  if (offset === undefined) {
    offset = jitterOffsetMs(device, intervalMs, schedulerDefaults.jitterFraction);
    offsets.set(device, offset);
  }
  return Number(key.slice(slotAt + 1)) * intervalMs + offset;
}

function startWatcher(config: Config, periodMs: number): Watcher {
  const db = config.clickhouse.database;
  const client = createClickHouse(config);
  const keys = new Map<string, KeySeen>();
  const gapsMs: number[] = [];
  const roundMs: number[] = [];
  let errors = 0;
  let stopped = false;
  let lastStart: number | undefined;
  // Rows are looked for by inserted_at (whole seconds, set when the insert began) from the last
  // round's start minus a margin that covers slow inserts and the rounding.
  const marginS = 5;
  const entry = (key: string) => {
    let e = keys.get(key);
    if (e === undefined) {
      e = {};
      keys.set(key, e);
    }
    return e;
  };
  const tsv = async (query: string) =>
    (await (await client.query({ query, format: 'TabSeparated' })).text())
      .split('\n')
      .filter((l) => l !== '');

  const round = async () => {
    const started = Date.now();
    const since = Math.floor((lastStart ?? started) / 1000) - marginS;
    const [features, raw] = await Promise.all([
      tsv(
        `SELECT idempotency_key, toString(observed_at_ns), toString(envelope_ts_ns) FROM ${db}.features WHERE inserted_at >= toDateTime(${since})`,
      ),
      tsv(
        `SELECT idempotency_key, toString(envelope_ts_ns) FROM ${db}.raw_envelopes WHERE inserted_at >= toDateTime(${since})`,
      ),
    ]);
    for (const line of features) {
      const [key, observed, envelope] = line.split('\t');
      if (key === undefined) continue;
      const e = entry(key);
      if (e.featureSeenMs !== undefined) continue;
      e.featureSeenMs = started;
      const due = dueMs(key);
      if (due !== undefined) e.dueMs = due;
      e.observedMs = Number(observed) / 1e6;
      e.envelopeMs = Number(envelope) / 1e6;
    }
    for (const line of raw) {
      const [key, envelope] = line.split('\t');
      if (key === undefined) continue;
      const e = entry(key);
      if (e.rawSeenMs !== undefined) continue;
      e.rawSeenMs = started;
      e.envelopeMs ??= Number(envelope) / 1e6;
    }
    if (lastStart !== undefined) gapsMs.push(started - lastStart);
    lastStart = started;
    roundMs.push(Date.now() - started);
  };

  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      try {
        await round();
      } catch {
        // A failed round only widens the gap; it is counted and the next round covers its rows.
        errors++;
      }
      const wait = periodMs - (Date.now() - started);
      if (wait > 0 && !stopped) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    keys,
    gapsMs,
    roundMs,
    get errors() {
      return errors;
    },
    stop: async () => {
      stopped = true;
      await loop;
      await client.close();
    },
  };
}

// ------------------------------------------------------------------------------------------
// Samples

interface ProducerHealth {
  details: {
    envelopesProduced: number;
    envelopesFailed: number;
    scheduler: {
      polls: Record<string, number>;
      missedSlots: Record<string, number>;
      inFlight: number;
      queued: number;
    };
  };
}
interface ProcessorHealth {
  details: { in: number; accepted: number; rejected: number; duplicates: number };
}
interface SinkHealth {
  details: {
    messages: { raw: number; features: number; dlq: number };
    rows: Record<string, number>;
    paused: boolean;
  };
}

interface Sample {
  /** Seconds since the producer started. */
  t: number;
  /** RSS by process, bytes. */
  rss: Record<string, number>;
  /** CPU seconds by process since it started. */
  cpuS: Record<string, number>;
  /** V8 heap used by the main thread of each stage (its /metrics), bytes. */
  heapUsed: Record<string, number>;
  /** Memory of the main thread's C++ objects bound to JS (Buffers: Kafka fetches), bytes. */
  external: Record<string, number>;
  load1: number;
  /** Busy CPU seconds of the whole machine so far (/proc/stat). */
  machineBusyS?: number;
  producer?: ProducerHealth['details'];
  processor?: ProcessorHealth['details'];
  sink?: SinkHealth['details'];
  watcherFeatures: number;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : `${Math.round(bytes / 2 ** 20)}`);
const fmtMs = (n: number) => (Number.isNaN(n) ? '-' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));

function printAligned(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}

// ------------------------------------------------------------------------------------------
// Main

const usage = `Usage: node bench/load/load.ts [options]

The whole pipeline (producer, processor, sink as child processes) against a simulated fleet for a
sustained run; reports throughput per stage, latency from poll to queryable row, RSS per process,
missed poll slots and the reconciliation. Needs the local stack (amoskys stack up).

Options:
  --devices <n>                  simulated devices (default 10000)
  --interval <s>                 poll interval of every device (default 60)
  --minutes <m>                  how long the producer polls (default 10)
  --simulators <n>               simulator processes (default: one per 5000 devices)
  --sample-seconds <s>           RSS/CPU/health sampling period (default 5)
  --watch-ms <ms>                period of the ClickHouse visibility queries (default 250)
  --drain-seconds <s>            longest wait for the pipeline to store everything (default 300)
  --dedup-retention-seconds <s>  processor.dedupRetentionSeconds for this run (default: configuration);
                                 the freshness window is set to half of it
  --log-level <level>            log level of the stages (default warn)
  --keep                         keep the database and topics
  -h, --help                     this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '60' },
      minutes: { type: 'string', default: '10' },
      simulators: { type: 'string' },
      'sample-seconds': { type: 'string', default: '5' },
      'watch-ms': { type: 'string', default: '250' },
      'drain-seconds': { type: 'string', default: '300' },
      'dedup-retention-seconds': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const num = (name: string, raw: string | undefined, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be a number in ${min}..${max}`);
    return n;
  };
  const deviceCount = Math.floor(num('devices', values.devices, 1, 50_000));
  const intervalS = Math.floor(num('interval', values.interval, 1, 3600));
  const minutes = num('minutes', values.minutes, 0.1, 24 * 60);
  const simulators = Math.floor(
    num('simulators', values.simulators ?? String(Math.ceil(deviceCount / 5000)), 1, 64),
  );
  const sampleS = num('sample-seconds', values['sample-seconds'], 0.5, 600);
  const watchMs = num('watch-ms', values['watch-ms'], 50, 60_000);
  const drainS = num('drain-seconds', values['drain-seconds'], 10, 3600);
  const dedupRetentionS =
    values['dedup-retention-seconds'] === undefined
      ? undefined
      : Math.floor(num('dedup-retention-seconds', values['dedup-retention-seconds'], 60, 30 * 86_400));
  const durationS = Math.round(minutes * 60);

  const { config: base } = loadConfig();
  const stackPids = await requireStack(base, ['kafka', 'registry', 'clickhouse']);
  const servers: Record<string, number> = {};
  for (const name of ['clickhouse', 'kafka'] as const) {
    const pid = stackPids[name];
    if (pid !== undefined) servers[name] = pid;
  }

  const id = randomBytes(3).toString('hex');
  const database = `${base.clickhouse.database}_load_${id}`;
  const runDir = path.join(base.stateDir, 'bench', `load-${id}`);
  mkdirSync(runDir, { recursive: true });
  const pipeline = await createPipeline(base, 'load');
  let config: Config = {
    ...pipeline.config,
    clickhouse: { ...pipeline.config.clickhouse, database },
    sink: { ...pipeline.config.sink, groupId: `amoskys-load-sink-${id}` },
    processor: { ...pipeline.config.processor, trustStore: path.join(runDir, 'trust-store.json') },
  };
  if (dedupRetentionS !== undefined) {
    config = {
      ...config,
      processor: {
        ...config.processor,
        dedupRetentionSeconds: dedupRetentionS,
        freshnessWindowSeconds: Math.floor(dedupRetentionS / 2),
      },
    };
  }
  const admin = createClickHouse(config, { database: null });
  const children: Child[] = [];
  let watcher: Watcher | undefined;

  const teardown = async () => {
    await watcher?.stop().catch(() => undefined);
    await Promise.all(children.map((c) => stop(c, 10_000)));
    if (!values.keep) {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
      const kafkaAdmin = createKafka(config, 'load-cleanup').admin();
      await kafkaAdmin.connect().catch(() => undefined);
      await kafkaAdmin.deleteGroups([config.sink.groupId]).catch(() => undefined);
      await kafkaAdmin.disconnect().catch(() => undefined);
      await pipeline.teardown();
    }
    await admin.close().catch(() => undefined);
    // The key file, configuration and inventory hold secrets (the community); the logs stay.
    for (const f of ['producer-key.json', 'trust-store.json', 'config.json', 'inventory.yaml']) {
      rmSync(path.join(runDir, f), { force: true });
    }
  };
  process.once('SIGINT', () => {
    log('interrupted; cleaning up');
    void teardown().finally(() => process.exit(130));
  });

  try {
    log(
      `${deviceCount} devices every ${intervalS} s for ${durationS} s; private database ${database}, topics ${config.topics.raw} and siblings; logs in ${runDir}`,
    );
    await migrate(admin, { database, migrations });

    // Simulators
    const perSim = Math.ceil(deviceCount / simulators);
    const fleet: DeviceInput[] = [];
    const simStart: number[] = [];
    const served = new Map<string, number>();
    const simReady: Promise<void>[] = [];
    for (let k = 0; k < simulators; k++) {
      const count = Math.min(perSim, deviceCount - k * perSim);
      if (count <= 0) break;
      const input: SimulatorChildInput = { index: k, count, community: base.snmp.community, intervalS };
      const name = `simulator-${k}`;
      let resolveReady: () => void = () => undefined;
      simReady.push(new Promise<void>((r) => (resolveReady = r)));
      const child = spawnChild(
        name,
        [process.argv[1] as string],
        { ...process.env, [simulatorChildVar]: JSON.stringify(input) },
        runDir,
        (line) => {
          const msg = JSON.parse(line) as SimulatorLine;
          if ('ready' in msg) {
            fleet.push(...msg.devices);
            simStart.push(msg.startS);
            resolveReady();
          } else {
            served.set(name, msg.served);
          }
        },
      );
      children.push(child);
    }
    const sims = [...children];
    await waitFor(
      async () => {
        for (const s of sims) if (s.done()) throw new Error(`${s.name} exited: ${s.stderrTail()}`);
        return fleet.length === deviceCount;
      },
      {
        description: `${simulators} simulators to serve ${deviceCount} devices`,
        timeoutMs: 300_000,
        intervalMs: 250,
      },
    );
    await Promise.all(simReady);
    log(
      `simulators ready in ${Math.max(...simStart).toFixed(1)} s (${sims.map((s) => `${s.name} ${mb(rssBytes(s.pid))} MB`).join(', ')})`,
    );

    // Key, trust store, inventory, configuration of the stages
    const ids = fleet.map((d) => d.id);
    const key = generateSigningKey({ keyId: `load-${id}`, devices: ids });
    const keyFile = path.join(runDir, 'producer-key.json');
    writeKeyFile(keyFile, key);
    const trust: TrustStoreDocument = {
      format: TRUST_STORE_FORMAT,
      keys: [
        {
          keyId: key.keyId,
          publicKey: Buffer.from(key.publicKey).toString('base64'),
          devices: ids,
          notBefore: new Date(Date.now() - 86_400_000).toISOString(),
        },
      ],
    } as TrustStoreDocument;
    writeTrustStore(config.processor.trustStore, trust);
    const inventoryFile = path.join(runDir, 'inventory.yaml');
    writeFileSync(inventoryFile, toYaml({ defaults: { intervalSeconds: intervalS }, devices: fleet }));

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AMOSKYS_TOPIC_RAW: config.topics.raw,
      AMOSKYS_TOPIC_FEATURES: config.topics.features,
      AMOSKYS_TOPIC_DLQ: config.topics.dlq,
      AMOSKYS_TOPIC_PROCESSOR_STATE: config.topics.processorState,
      AMOSKYS_PROCESSOR_GROUP_ID: config.processor.groupId,
      AMOSKYS_PROCESSOR_TRUST_STORE: config.processor.trustStore,
      AMOSKYS_SINK_GROUP_ID: config.sink.groupId,
      AMOSKYS_CLICKHOUSE_DATABASE: database,
      AMOSKYS_METRICS_PORT: '0',
      AMOSKYS_LOG_LEVEL: values['log-level'],
    };
    if (dedupRetentionS !== undefined) {
      // No variable sets these: the stages read the whole configuration of this run from a file.
      const file = path.join(runDir, 'config.json');
      writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
      env.AMOSKYS_CONFIG = file;
    }

    // Stages: processor and sink join their groups before anything is produced.
    const processor = spawnChild('processor', [cli, 'processor', 'run'], env, runDir);
    const sink = spawnChild('sink', [cli, 'sink', 'run'], env, runDir);
    children.push(processor, sink);
    const [processorPort, sinkPort] = await Promise.all([metricsPort(processor), metricsPort(sink)]);
    await Promise.all([
      waitForLine(processor, /\[processor\] partitions assigned/, 'its partitions'),
      waitForLine(sink, /\[sink\] partitions assigned/, 'its partitions'),
    ]);
    watcher = startWatcher(config, watchMs);
    // Start at an interval boundary: the scheduler polls at once every slot already due whose
    // window is still open, so a start in mid-interval begins with a catch-up burst of up to
    // ~half the fleet. That is a restart, not the steady state this run measures.
    const toBoundaryMs = intervalS * 1000 - (Date.now() % (intervalS * 1000));
    log(`starting the producer at the next interval boundary, in ${(toBoundaryMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, toBoundaryMs));
    const producer = spawnChild(
      'producer',
      [
        cli,
        'producer',
        'run',
        '--inventory',
        inventoryFile,
        '--key-file',
        keyFile,
        '--duration',
        String(durationS),
      ],
      env,
      runDir,
    );
    children.push(producer);
    const producerPort = await metricsPort(producer);
    const producerStartedAt = Date.now();
    log(
      `producer polling; metrics ports producer ${producerPort}, processor ${processorPort}, sink ${sinkPort}`,
    );

    // Sampling
    const tracked = (): Record<string, number> => {
      const pids: Record<string, number> = {};
      for (const c of children) if (!c.done()) pids[c.name] = c.pid;
      for (const [name, pid] of Object.entries(servers)) pids[name] = pid;
      pids.load = process.pid;
      return pids;
    };
    const samples: Sample[] = [];
    const takeSample = async (): Promise<Sample> => {
      const pids = tracked();
      const stagePorts = {
        ...(producer.done() ? {} : { producer: producerPort }),
        processor: processorPort,
        sink: sinkPort,
      };
      const [p, q, s, ...texts] = await Promise.all([
        producer.done() ? undefined : getJson<ProducerHealth>(`http://127.0.0.1:${producerPort}/healthz`),
        getJson<ProcessorHealth>(`http://127.0.0.1:${processorPort}/healthz`),
        getJson<SinkHealth>(`http://127.0.0.1:${sinkPort}/healthz`),
        ...Object.values(stagePorts).map((port) => getText(`http://127.0.0.1:${port}/metrics`)),
      ]);
      const heapUsed: Record<string, number> = {};
      const external: Record<string, number> = {};
      const gauge = (text: string | undefined, metric: string) => {
        const m = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text ?? '');
        return m === null ? undefined : Number(m[1]);
      };
      Object.keys(stagePorts).forEach((name, i) => {
        const heap = gauge(texts[i], 'amoskys_nodejs_heap_size_used_bytes');
        const ext = gauge(texts[i], 'amoskys_nodejs_external_memory_bytes');
        if (heap !== undefined) heapUsed[name] = heap;
        if (ext !== undefined) external[name] = ext;
      });
      const busy = machineBusyS();
      const sample: Sample = {
        t: (Date.now() - producerStartedAt) / 1000,
        rss: {},
        cpuS: {},
        heapUsed,
        external,
        load1: loadAverage()[0],
        ...(busy === undefined ? {} : { machineBusyS: busy }),
        watcherFeatures: [...(watcher?.keys.values() ?? [])].filter((k) => k.featureSeenMs !== undefined)
          .length,
        ...(p === undefined ? {} : { producer: p.details }),
        ...(q === undefined ? {} : { processor: q.details }),
        ...(s === undefined ? {} : { sink: s.details }),
      };
      for (const [name, pid] of Object.entries(pids)) {
        const r = rssBytes(pid);
        const c = cpuSeconds(pid);
        if (r !== undefined) sample.rss[name] = r;
        if (c !== undefined) sample.cpuS[name] = c;
      }
      samples.push(sample);
      return sample;
    };
    const cpuAtStart = await takeSample();
    let lastProgress = 0;
    while (!producer.done()) {
      await Promise.race([new Promise((r) => setTimeout(r, sampleS * 1000)), producer.exited]);
      if (producer.done()) break;
      const s = await takeSample();
      for (const c of [processor, sink, ...sims]) {
        if (c.done()) throw new Error(`${c.name} exited during the run: ${c.stderrTail()}`);
      }
      if (s.t - lastProgress >= 30) {
        lastProgress = s.t;
        log(
          `t=${Math.round(s.t)} s: produced ${s.producer?.envelopesProduced ?? '?'}, processor in ${s.processor?.in ?? '?'}, sink raw ${s.sink?.messages.raw ?? '?'} features ${s.sink?.messages.features ?? '?'}, queryable ${s.watcherFeatures}; missed ${JSON.stringify(s.producer?.scheduler.missedSlots ?? {})}, queued ${s.producer?.scheduler.queued ?? '?'}; RSS MB ${Object.entries(
            s.rss,
          )
            .map(([n, v]) => `${n} ${mb(v)}`)
            .join(', ')}; load ${s.load1}`,
        );
      }
    }
    const producerExit = await producer.exited;
    const producerStoppedAt = Date.now();
    const productionS = (producerStoppedAt - producerStartedAt) / 1000;
    const finalLine = producer
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1);
    if (finalLine === undefined)
      throw new Error(
        `the producer printed no final stats (exit ${JSON.stringify(producerExit)}): ${producer.stderrTail()}`,
      );
    const producerFinal = JSON.parse(finalLine) as {
      envelopesProduced: number;
      envelopesFailed: number;
      bytesCollected: number;
      bytesProduced: number;
      scheduler: ProducerHealth['details']['scheduler'] & { varbindsReceived: number; onPollErrors: number };
    };
    const produced = producerFinal.envelopesProduced;
    log(`producer stopped after ${productionS.toFixed(0)} s: ${produced} envelopes; draining`);

    // Drain: the processor has read everything, the sink has stored it, the watcher has seen it.
    const drainStarted = Date.now();
    let drained = true;
    let last: Sample | undefined;
    try {
      await waitFor(
        async () => {
          const s = await takeSample();
          last = s;
          const q = s.processor;
          const k = s.sink;
          if (q === undefined || k === undefined) return false;
          return (
            q.in >= produced &&
            k.messages.raw >= produced &&
            k.messages.features >= q.accepted &&
            k.messages.dlq >= q.rejected &&
            s.watcherFeatures >= q.accepted
          );
        },
        {
          description: 'the pipeline to store everything produced',
          timeoutMs: drainS * 1000,
          intervalMs: 1000,
        },
      );
    } catch (err) {
      drained = false;
      log(`not drained: ${(err as Error).message}; last sample ${JSON.stringify(last)}`);
    }
    const drainS_ = (Date.now() - drainStarted) / 1000;
    log(`drained in ${drainS_.toFixed(1)} s`);

    // The sink's own view of latency, before it stops.
    const sinkMetrics = (await getText(`http://127.0.0.1:${sinkPort}/metrics`)) ?? '';
    const sinkAge = histogramQuantiles(sinkMetrics, 'amoskys_sink_envelope_age_seconds', [0.5, 0.99]);
    await watcher.stop();
    const w = watcher;
    watcher = undefined;
    const finalSample = samples.at(-1) as Sample;
    await Promise.all([stop(processor), stop(sink)]);
    const stageFinal = (c: Child) => {
      const line = c
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1);
      return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
    };
    const processorFinal = stageFinal(processor) as ProcessorHealth['details'] | undefined;
    const sinkFinal = stageFinal(sink) as SinkHealth['details'] | undefined;

    // Reconciliation: amoskys analyze against the raw topic, plus ClickHouse counts.
    log('reconciling with amoskys analyze');
    const analyze = spawnChild('analyze', [cli, 'analyze', '--json', '--samples', '5'], env, runDir);
    const analyzeExit = await analyze.exited;
    let reconciliation: Record<string, unknown> | undefined;
    try {
      reconciliation = (JSON.parse(analyze.stdout()) as { reconciliation: Record<string, unknown> })
        .reconciliation;
      delete (reconciliation as { devices?: unknown }).devices;
    } catch {
      log(`amoskys analyze gave no report (exit ${analyzeExit.code}): ${analyze.stderrTail()}`);
    }
    const client = createClickHouse(config);
    const one = async <T>(query: string) =>
      (await (await client.query({ query, format: 'JSONEachRow' })).json<T>())[0] as T;
    const stored = await one<Record<string, string>>(
      `SELECT (SELECT count() FROM ${database}.v_features) AS features, (SELECT uniqExact(idempotency_key) FROM ${database}.features) AS feature_keys,
        (SELECT count() FROM ${database}.v_raw_envelopes) AS raw_envelopes, (SELECT count() FROM ${database}.v_dlq) AS dlq,
        (SELECT count() FROM ${database}.metrics) AS metric_rows`,
    );
    const perDevice = await one<Record<string, string>>(
      `SELECT min(n) AS min_polls, max(n) AS max_polls, count() AS devices FROM (SELECT device_id, count() AS n FROM ${database}.v_features GROUP BY device_id)`,
    );
    const polls = await one<Record<string, unknown>>(
      `SELECT quantilesExact(0.5, 0.99)(poll_duration_ms) AS duration_ms, max(poll_duration_ms) AS max_ms,
        countIf(poll_state = 'ok') AS ok, countIf(poll_state != 'ok') AS not_ok,
        quantilesExact(0.5, 0.99)(intDiv(envelope_ts_ns - observed_at_ns, 1000000)) AS observed_to_envelope_ms
       FROM ${database}.v_features`,
    );
    await client.close();

    for (const s of sims) await stop(s);

    // ----------------------------------------------------------------------------------------
    // Figures

    const offered = deviceCount / intervalS;
    const window = (
      from: Sample | undefined,
      to: Sample | undefined,
      pick: (s: Sample) => number | undefined,
    ) => {
      const a = from === undefined ? undefined : pick(from);
      const b = to === undefined ? undefined : pick(to);
      return a === undefined || b === undefined || to === undefined || from === undefined
        ? Number.NaN
        : (b - a) / (to.t - from.t);
    };
    // Rates over the production window (first to last sample while the producer ran).
    const during = samples.filter((s) => s.t <= productionS);
    const first = during[0];
    const lastDuring = during.at(-1);
    const rows: BenchRow[] = [
      row({
        stage: 'producer',
        unit: 'envelopes/s',
        rate: produced / productionS,
        reference: 'offered: devices / interval',
        referenceRate: offered,
        goal: 0.99,
        notes: `${produced} envelopes in ${productionS.toFixed(0)} s; jitter spreads each interval's polls over its first half, so the peak is about twice this`,
      }),
      row({
        stage: 'processor',
        unit: 'envelopes/s',
        rate: window(first, lastDuring, (s) => s.processor?.in),
        reference: 'producer, same window',
        referenceRate: window(first, lastDuring, (s) => s.producer?.envelopesProduced),
        goal: 0.95,
      }),
      row({
        stage: 'sink (raw)',
        unit: 'envelopes/s',
        rate: window(first, lastDuring, (s) => s.sink?.messages.raw),
        reference: 'producer, same window',
        referenceRate: window(first, lastDuring, (s) => s.producer?.envelopesProduced),
        goal: 0.95,
      }),
      row({
        stage: 'sink (features)',
        unit: 'rows/s',
        rate: window(first, lastDuring, (s) => s.sink?.messages.features),
        reference: 'processor accepted, same window',
        referenceRate: window(first, lastDuring, (s) => s.processor?.accepted),
        goal: 0.95,
      }),
      row({
        stage: 'sink (metrics)',
        unit: 'rows/s',
        rate: window(first, lastDuring, (s) => s.sink?.rows.metrics),
        reference: 'sink raw envelopes, same window',
        referenceRate: window(first, lastDuring, (s) => s.sink?.messages.raw),
        notes: 'metric rows per envelope',
      }),
    ];

    // Latency
    const all = [...w.keys.values()];
    const firstIntervalEnd = producerStartedAt + intervalS * 1000;
    const lat = (pick: (k: KeySeen) => number | undefined, steady = false) =>
      distribution(
        all
          .filter((k) => !steady || (k.observedMs ?? 0) >= firstIntervalEnd)
          .map(pick)
          .filter((v): v is number => v !== undefined && Number.isFinite(v)),
      );
    const both = (k: KeySeen) =>
      k.featureSeenMs === undefined || k.rawSeenMs === undefined || k.observedMs === undefined
        ? undefined
        : Math.max(k.featureSeenMs, k.rawSeenMs) - k.observedMs;
    const latency = {
      definition:
        'first seen = start of the first ClickHouse query (every --watch-ms) that returned the row; latency = first seen - the poll start (features.observed_at_ns) or the envelope time (envelope_ts_ns)',
      pollToFeatureRow: lat((k) => (k.featureSeenMs ?? Number.NaN) - (k.observedMs ?? Number.NaN)),
      pollToFeatureRowAfterFirstInterval: lat(
        (k) => (k.featureSeenMs ?? Number.NaN) - (k.observedMs ?? Number.NaN),
        true,
      ),
      pollToBothRows: lat(both),
      dueToPollStart: lat((k) => (k.observedMs ?? Number.NaN) - (k.dueMs ?? Number.NaN)),
      dueToFeatureRow: lat((k) => (k.featureSeenMs ?? Number.NaN) - (k.dueMs ?? Number.NaN)),
      envelopeToFeatureRow: lat((k) => (k.featureSeenMs ?? Number.NaN) - (k.envelopeMs ?? Number.NaN)),
      envelopeToRawRow: lat((k) => (k.rawSeenMs ?? Number.NaN) - (k.envelopeMs ?? Number.NaN)),
      watcher: {
        keysSeen: all.length,
        featureRowsSeen: all.filter((k) => k.featureSeenMs !== undefined).length,
        rawRowsSeen: all.filter((k) => k.rawSeenMs !== undefined).length,
        gapMs: distribution(w.gapsMs),
        roundMs: distribution(w.roundMs),
        failedRounds: w.errors,
      },
      sinkHistogram: sinkAge,
    };

    // Memory and CPU per process
    const third = productionS / 3;
    const processes = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))];
    const memory = processes.map((name) => {
      const series = during.filter((s) => s.rss[name] !== undefined);
      const at = (from: number, to: number) =>
        Math.max(0, ...series.filter((s) => s.t >= from && s.t < to).map((s) => s.rss[name] as number));
      const mid = at(third, 2 * third);
      const lastThird = at(2 * third, Number.POSITIVE_INFINITY);
      const cpuA = cpuAtStart.cpuS[name];
      const cpuB = lastDuring?.cpuS[name];
      return {
        process: name,
        startRss: series[0]?.rss[name],
        peakRss: Math.max(0, ...samples.map((s) => s.rss[name] ?? 0)),
        peakHeapUsed: Math.max(0, ...samples.map((s) => s.heapUsed[name] ?? 0)),
        finalHeapUsed: series.at(-1)?.heapUsed[name],
        peakExternal: Math.max(0, ...samples.map((s) => s.external[name] ?? 0)),
        finalRss: series.at(-1)?.rss[name],
        midThirdMaxRss: mid,
        lastThirdMaxRss: lastThird,
        growthLastVsMid: mid > 0 ? (lastThird - mid) / mid : Number.NaN,
        plateaued: mid > 0 && lastThird <= mid * 1.05,
        cores:
          cpuA === undefined || cpuB === undefined || lastDuring === undefined
            ? Number.NaN
            : (cpuB - cpuA) / (lastDuring.t - cpuAtStart.t),
      };
    });
    const loads = during.map((s) => s.load1).sort((a, b) => a - b);
    // Cores the whole machine kept busy while producing, and how many of them were not this run's
    // (its processes, ClickHouse and the broker): the other work sharing the two cores.
    const busyA = cpuAtStart.machineBusyS;
    const busyB = lastDuring?.machineBusyS;
    const machineCores =
      busyA === undefined || busyB === undefined || lastDuring === undefined
        ? Number.NaN
        : (busyB - busyA) / (lastDuring.t - cpuAtStart.t);
    const runCores = memory.reduce((sum, m) => sum + (Number.isNaN(m.cores) ? 0 : m.cores), 0);
    const otherCores = machineCores - runCores;
    const scheduler = producerFinal.scheduler;
    const maxQueued = Math.max(0, ...during.map((s) => s.producer?.scheduler.queued ?? 0));
    const maxInFlight = Math.max(0, ...during.map((s) => s.producer?.scheduler.inFlight ?? 0));
    // Missed slots after the first interval (the first one includes the start-up) and the peak
    // poll rate between two samples.
    const afterFirst = during.find((s) => s.t >= intervalS && s.producer !== undefined);
    const missedAfterFirstInterval = Object.fromEntries(
      Object.entries(scheduler.missedSlots).map(([reason, n]) => [
        reason,
        n - (afterFirst?.producer?.scheduler.missedSlots[reason] ?? 0),
      ]),
    );
    let peakPollRate = 0;
    for (let i = 1; i < during.length; i++) {
      const a = during[i - 1];
      const b = during[i];
      const pa = a?.producer?.envelopesProduced;
      const pb = b?.producer?.envelopesProduced;
      if (a !== undefined && b !== undefined && pa !== undefined && pb !== undefined && b.t > a.t) {
        peakPollRate = Math.max(peakPollRate, (pb - pa) / (b.t - a.t));
      }
    }

    // ----------------------------------------------------------------------------------------
    // Report

    process.stdout.write(
      `\nLoad run: ${deviceCount} devices, interval ${intervalS} s, producer ran ${productionS.toFixed(0)} s (${simulators} simulator processes)\n\n`,
    );
    printTable(rows);
    process.stdout.write(`\nLatency, ms (poll start = observed_at_ns; first seen every ~${watchMs} ms)\n`);
    printAligned(
      ['path', 'n', 'p50', 'p90', 'p99', 'max'],
      (
        [
          ['poll start -> v_features row', latency.pollToFeatureRow],
          ['  same, after the first interval', latency.pollToFeatureRowAfterFirstInterval],
          ['poll start -> features + raw rows', latency.pollToBothRows],
          ['envelope built -> v_features row', latency.envelopeToFeatureRow],
          ['envelope built -> raw_envelopes row', latency.envelopeToRawRow],
          ['due -> poll start (scheduling lag)', latency.dueToPollStart],
          ['due -> v_features row', latency.dueToFeatureRow],
        ] as const
      ).map(([name, d]) => [name, String(d.n), fmtMs(d.p50), fmtMs(d.p90), fmtMs(d.p99), fmtMs(d.max)]),
    );
    process.stdout.write(
      `  resolution: gap between visibility queries p50 ${fmtMs(latency.watcher.gapMs.p50)} ms, p99 ${fmtMs(latency.watcher.gapMs.p99)} ms (${latency.watcher.failedRounds} failed rounds); sink histogram (envelope ts -> raw insert acked, ${sinkAge.count} obs.): p50 ${sinkAge.upperBounds.p50}, p99 ${sinkAge.upperBounds.p99}\n`,
    );
    process.stdout.write('\nMemory (RSS, MB) and CPU (cores, average while producing)\n');
    printAligned(
      [
        'process',
        'start',
        'peak',
        'final',
        'mid 1/3 max',
        'last 1/3 max',
        'growth',
        'plateau',
        'heap peak/final',
        'external peak',
        'cores',
      ],
      memory.map((m) => [
        m.process,
        mb(m.startRss),
        mb(m.peakRss),
        mb(m.finalRss),
        mb(m.midThirdMaxRss),
        mb(m.lastThirdMaxRss),
        Number.isNaN(m.growthLastVsMid) ? '-' : `${(m.growthLastVsMid * 100).toFixed(1)} %`,
        m.plateaued ? 'yes' : 'no',
        m.peakHeapUsed > 0 ? `${mb(m.peakHeapUsed)}/${mb(m.finalHeapUsed)}` : '',
        m.peakExternal > 0 ? mb(m.peakExternal) : '',
        Number.isNaN(m.cores) ? '-' : m.cores.toFixed(2),
      ]),
    );
    process.stdout.write(
      `\nProducer: polls ${JSON.stringify(scheduler.polls)}; missed slots ${JSON.stringify(scheduler.missedSlots)} (after the first interval ${JSON.stringify(missedAfterFirstInterval)}); peak ${peakPollRate.toFixed(0)} envelopes/s over ${sampleS} s; max queued ${maxQueued}, max in flight ${maxInFlight}; envelopes failed ${producerFinal.envelopesFailed}; poll duration ms p50/p99 ${JSON.stringify(polls.duration_ms)} (max ${polls.max_ms}); polls per device ${perDevice.min_polls}..${perDevice.max_polls} over ${perDevice.devices} devices\n`,
    );
    process.stdout.write(
      `Load average (1 min) while producing: min ${loads[0]}, median ${quantile(loads, 0.5)}, max ${loads.at(-1)} on ${availableParallelism()} cores; cores busy: machine ${machineCores.toFixed(2)}, this run ${runCores.toFixed(2)} (processes above), other work ${otherCores.toFixed(2)}\n`,
    );
    process.stdout.write(
      `Reconciliation: produced ${produced}; processor ${JSON.stringify(processorFinal ?? finalSample.processor)}; sink ${JSON.stringify((sinkFinal ?? finalSample.sink)?.messages)}; ClickHouse ${JSON.stringify(stored)}; amoskys analyze ${JSON.stringify(reconciliation ?? `exit ${analyzeExit.code}`)}\n`,
    );
    if (!drained) process.stdout.write(`NOT DRAINED within ${drainS} s: see the samples\n`);

    const file = saveResults('load', rows, {
      params: {
        devices: deviceCount,
        intervalS,
        durationS,
        simulators,
        sampleS,
        watchMs,
        dedupRetentionS,
      },
      config: {
        dedupRetentionSeconds: config.processor.dedupRetentionSeconds,
        freshnessWindowSeconds: config.processor.freshnessWindowSeconds,
        sinkBatchRows: config.sink.batchRows,
        sinkFlushIntervalMs: config.sink.flushIntervalMs,
      },
      simulatorStartS: simStart,
      simulatorRequestsServed: Object.fromEntries(served),
      productionS,
      drained,
      drainS: drainS_,
      producer: {
        ...producerFinal,
        exit: producerExit,
        maxQueued,
        maxInFlight,
        missedAfterFirstInterval,
        peakPollRate,
      },
      polls,
      perDevice,
      latency,
      memory,
      loadAverage: { min: loads[0], median: quantile(loads, 0.5), max: loads.at(-1) },
      cores: { machine: machineCores, run: runCores, other: otherCores, of: availableParallelism() },
      reconciliation: {
        produced,
        processor: processorFinal ?? finalSample.processor,
        sink: sinkFinal ?? finalSample.sink,
        clickhouse: stored,
        analyze: reconciliation ?? { exit: analyzeExit.code },
      },
      logs: runDir,
      samples,
    });
    log(`results in ${file}`);
  } finally {
    await teardown();
  }
}

const childInput = process.env[simulatorChildVar];
if (childInput !== undefined) {
  await runSimulatorChild(JSON.parse(childInput) as SimulatorChildInput);
} else {
  await main();
}
