/**
 * Producer side: SNMP collection and envelope production, each next to a reference measured in
 * the same run against the same target (DESIGN.md "Performance").
 *
 *   node bench/producer/producer.ts [--seconds 2] [--devices 200]
 *
 * 1. Walks: GETBULK walks of MIB-2 and UCD-SNMP-MIB (.1.3.6.1.2.1 and .1.3.6.1.4.1.2021, ~6,000
 *    varbinds) of the local snmpd by our `walkColumns` and by Net-SNMP's `snmpbulkwalk`, at the
 *    same max-repetitions (snmpbulkwalk's default 10, and 25, the collector's default), one walk
 *    at a time, interleaved in rounds. snmpbulkwalk runs one process per subtree: its start-up
 *    (~5 ms against ~90 ms of walking) is counted, not subtracted.
 * 2. Polls: the 29-metric default profile by `createCollector()`, against snmpd (1 and 8 in
 *    flight) and against `--devices` simulated agents, 64 in flight (the scheduler's default
 *    bound), the agents served by `amoskys simulate devices` in a child process (it gets a core
 *    of its own, as a remote fleet would) and by `startSimulator` in this process (they share
 *    one thread). Reference: the same requests (GET of the scalars, side-by-side GETBULK walks of
 *    each table asking for its rows + 1, as the collector does) over long-lived net-snmp sessions
 *    with nothing around them, against the same agents: the ratio is the collector's own cost.
 * 3. Produce: one real poll of snmpd, under a new slot and one of `--devices` device ids each
 *    time (keys spread over the partitions as a fleet's do), built, signed, framed and sent with
 *    `BatchProducer` to a new 6-partition topic until every send is acknowledged. Reference:
 *    node:crypto Ed25519 signatures per second of the same bytes alone, the CPU floor per envelope.
 *
 * Needs the local stack (`amoskys stack up`); the topic and its registry subject are deleted at
 * the end. CPU use per process comes from /proc (Linux). Two cores: snmpd, the simulator and
 * Kafka share them with this process, hence the CPU notes under the table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import snmp from 'net-snmp';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/core/config/index.ts';
import { generateSigningKey, signerFor } from '../../src/core/crypto/index.ts';
import {
  buildSignedEnvelope,
  encodeUnsignedEnvelope,
  envelopeSchema,
} from '../../src/core/envelope/index.ts';
import { BatchProducer, createKafka } from '../../src/core/kafka/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { applySubject, deleteSubject, frame } from '../../src/core/registry/index.ts';
import { stackStatus } from '../../src/core/stack/index.ts';
import type { DevicePoll } from '../../src/core/telemetry/index.ts';
import {
  buildInventory,
  collectorDefaults,
  createCollector,
  type Device,
  defaultProfile,
  getScalars,
  loadInventory,
  planPoll,
  type RawVarbind,
  type SlotInfo,
  type SnmpRequester,
  startSimulator,
  walkColumns,
} from '../../src/producers/snmp/index.ts';
import { type BenchRow, machineBusyS, printTable, rate, row, run, saveResults } from '../lib.ts';

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name} must be a positive number`);
  return value;
};
/** Length of one measurement, s. A run takes about 16 of them plus ~5 s of set-up. */
const seconds = arg('--seconds', 2);
/** Agents in the simulated fleet, and device ids in the produce benchmark. */
const fleetSize = Math.round(arg('--devices', 200));
/** Polls in flight against snmpd: one agent, so more would only queue in front of it. */
const snmpdConcurrency = 8;
/** Polls in flight against the fleet: the scheduler's default maxConcurrentPolls. */
const fleetConcurrency = 64;
const subtrees = ['1.3.6.1.2.1', '1.3.6.1.4.1.2021'];
const walkRounds = 8;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const { config } = loadConfig();
const { host, port, community } = config.snmp;
const agent = `${host}:${port}`;
const profile = defaultProfile;
const plan = planPoll(profile);
const rows: BenchRow[] = [];
const results: Record<string, unknown> = {};

// ------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; clock ticks of 10 ms)

/** CPU seconds of a process: its own, and of its children it has waited for. */
function procCpuS(pid: number | 'self'): { own: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; utime, stime, cutime, cstime are fields 14-17.
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { own: ((f[11] ?? 0) + (f[12] ?? 0)) / 100, children: ((f[13] ?? 0) + (f[14] ?? 0)) / 100 };
  } catch {
    return undefined;
  }
}

/** CPU seconds used during a measurement. */
interface CpuUse {
  wallS: number;
  /** This process. */
  self: number;
  /** Child processes that exited meanwhile (snmpbulkwalk). */
  children: number;
  /** The process watched alongside: snmpd, the simulator or the Kafka broker, when known. */
  agent?: number;
}

/** Runs `fn`, with the CPU it cost here, in exited children and in process `agentPid`. */
async function measure<T>(agentPid: number | undefined, fn: () => Promise<T>): Promise<[T, CpuUse]> {
  const self = process.cpuUsage();
  const children = procCpuS('self')?.children ?? 0;
  const agentBefore = agentPid === undefined ? undefined : procCpuS(agentPid)?.own;
  const started = performance.now();
  const result = await fn();
  const wallS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(self);
  const agentAfter = agentPid === undefined ? undefined : procCpuS(agentPid)?.own;
  return [
    result,
    {
      wallS,
      self: (used.user + used.system) / 1e6,
      children: (procCpuS('self')?.children ?? 0) - children,
      ...(agentBefore !== undefined && agentAfter !== undefined ? { agent: agentAfter - agentBefore } : {}),
    },
  ];
}

const addCpu = (a: CpuUse, b: CpuUse): CpuUse => ({
  wallS: a.wallS + b.wallS,
  self: a.self + b.self,
  children: a.children + b.children,
  ...(a.agent !== undefined && b.agent !== undefined ? { agent: a.agent + b.agent } : {}),
});
const noCpu: CpuUse = { wallS: 0, self: 0, children: 0, agent: 0 };
/** CPU time per unit of work, µs. */
const usPer = (cpuS: number | undefined, n: number) => {
  if (cpuS === undefined) return '?';
  const us = (cpuS * 1e6) / n;
  return `${us < 10 ? us.toFixed(1) : Math.round(us)} µs`;
};

/** Process ids of the local stack's snmpd and Kafka broker, for their CPU use. */
const stackPids = await stackStatus(config, ['snmpd', 'kafka'])
  .then((all) => {
    const pidOf = (name: string) => {
      const pid = /pid (\d+)/.exec(all.find((s) => s.name === name)?.detail ?? '')?.[1];
      return pid === undefined ? undefined : Number(pid);
    };
    return { snmpd: pidOf('snmpd'), kafka: pidOf('kafka') };
  })
  .catch(() => ({ snmpd: undefined, kafka: undefined }));
const snmpdPid = stackPids.snmpd;

// ------------------------------------------------------------------------------------------
// SNMP helpers

/** A requester over one long-lived net-snmp session; `received` counts response varbinds. */
function sessionRequester(session: snmp.Session): SnmpRequester & { received: number } {
  const requester = {
    received: 0,
    get: (oids: string[]) =>
      new Promise<RawVarbind[]>((resolve, reject) =>
        session.get(oids, (error, varbinds) => {
          if (error) return reject(error);
          requester.received += varbinds?.length ?? 0;
          resolve(varbinds as RawVarbind[]);
        }),
      ),
    getBulk: (oids: string[], maxRepetitions: number) =>
      new Promise<RawVarbind[][]>((resolve, reject) =>
        session.getBulk(oids, 0, maxRepetitions, (error, varbinds) => {
          if (error) return reject(error);
          const columns = (varbinds ?? []).map((v) => (Array.isArray(v) ? v : [v])) as RawVarbind[][];
          for (const c of columns) requester.received += c.length;
          resolve(columns);
        }),
      ),
  };
  return requester;
}

function v2cSession(address: string, agentPort: number): snmp.Session {
  return snmp.createSession(address, community, {
    port: agentPort,
    version: snmp.Version2c,
    timeout: 2000,
    retries: 1,
  });
}

/** Varbinds read by one walk of every subtree with walkColumns. */
async function ourWalk(requester: SnmpRequester, maxRepetitions: number): Promise<number> {
  let varbinds = 0;
  for (const base of subtrees) {
    const walked = await walkColumns(requester, [base], { maxRepetitions, maxRowsPerColumn: 1_000_000 });
    if (walked.error !== undefined) throw walked.error;
    varbinds += walked.columns.get(base)?.length ?? 0;
  }
  return varbinds;
}

/** Varbinds read by one walk of every subtree with snmpbulkwalk (its own count, `-Cp`). */
async function referenceWalk(maxRepetitions: number): Promise<number> {
  let varbinds = 0;
  for (const base of subtrees) {
    const args = ['-v2c', '-c', community, '-On', '-Cp', `-Cr${maxRepetitions}`, agent, base];
    const { stdout } = await run('snmpbulkwalk', args);
    const found = /Variables found: (\d+)/.exec(stdout)?.[1];
    if (found === undefined) throw new Error(`snmpbulkwalk printed no count:\n${stdout.slice(-500)}`);
    varbinds += Number(found);
  }
  return varbinds;
}

interface WalkTotals {
  walks: number;
  varbinds: number;
  cpu: CpuUse;
}

/** Repeats `walk` for at least `ms`. */
async function walkFor(ms: number, walk: () => Promise<number>): Promise<WalkTotals> {
  const [{ walks, varbinds }, cpu] = await measure(snmpdPid, async () => {
    const started = performance.now();
    let n = 0;
    let total = 0;
    do {
      total += await walk();
      n++;
    } while (performance.now() - started < ms);
    return { walks: n, varbinds: total };
  });
  return { walks, varbinds, cpu };
}

/** Polls done by {@link pollFor}. */
interface PollRun {
  polls: number;
  varbinds: number;
  /** Polls by state; bare reference polls count as `ok` (they throw otherwise). */
  states: Record<string, number>;
  cpu: CpuUse;
}

type PollOnce = (device: Device, slot: SlotInfo) => Promise<{ varbinds: number; state: string }>;

/**
 * Polls `devices` with `concurrency` polls in flight for `ms`. Each worker polls its own share
 * of the devices in turn, so a device is never polled twice at once (as under the scheduler).
 */
async function pollFor(
  devices: readonly Device[],
  concurrency: number,
  ms: number,
  agentPid: number | undefined,
  poll: PollOnce,
): Promise<PollRun> {
  const counts = { polls: 0, varbinds: 0, states: {} as Record<string, number> };
  const workers = Math.min(concurrency, devices.length);
  const [, cpu] = await measure(agentPid, async () => {
    const started = performance.now();
    const worker = async (w: number) => {
      const mine = devices.filter((_, d) => d % workers === w);
      for (let k = 0; performance.now() - started < ms; k++) {
        const slot = BigInt(29_000_000 + k);
        const r = await poll(mine[k % mine.length] as Device, {
          slot,
          intervalS: 60,
          slotStartNs: slot * 60_000_000_000n,
        });
        counts.polls++;
        counts.varbinds += r.varbinds;
        counts.states[r.state] = (counts.states[r.state] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  });
  return { ...counts, cpu };
}

/**
 * The requests of a collector poll with adaptive repetitions, over one session per device that
 * stays open, and nothing else: no socket per poll, no metric building, no deadline timers.
 */
function barePoller(): { poll: PollOnce; close: () => void } {
  const sessions = new Map<
    string,
    { session: snmp.Session; requester: ReturnType<typeof sessionRequester> }
  >();
  const rowsSeen = new Map<string, number>();
  const { maxOidsPerGet, maxRepetitions, maxRowsPerColumn } = collectorDefaults;
  const poll: PollOnce = async (device) => {
    let entry = sessions.get(device.id);
    if (entry === undefined) {
      const session = v2cSession(device.address, device.port);
      entry = { session, requester: sessionRequester(session) };
      sessions.set(device.id, entry);
    }
    const { requester } = entry;
    const before = requester.received;
    const scalars = async (oids: string[]) => {
      const got = await getScalars(requester, oids, maxOidsPerGet);
      if (got.failures.length > 0) throw got.failures[0]?.error;
    };
    await Promise.all([
      scalars(plan.scalarOids.slice(0, maxOidsPerGet)),
      scalars(plan.scalarOids.slice(maxOidsPerGet)),
      ...plan.tables.map(async (table) => {
        const key = `${device.id} ${table.name}`;
        const hint = rowsSeen.get(key);
        const walked = await walkColumns(requester, table.columns, {
          maxRepetitions: hint === undefined ? maxRepetitions : Math.min(maxRepetitions, hint + 1),
          maxRowsPerColumn,
        });
        if (walked.error !== undefined) throw walked.error;
        rowsSeen.set(key, Math.max(0, ...[...walked.columns.values()].map((r) => r.length)));
      }),
    ]);
    return { varbinds: requester.received - before, state: 'ok' };
  };
  return {
    poll,
    close: () => {
      for (const { session } of sessions.values()) session.close();
    },
  };
}

/** One ok poll of snmpd, kept for the produce benchmark. */
let samplePoll: DevicePoll | undefined;

/** Collector vs bare requests against the same agents; adds two rows. */
async function comparePolls(
  label: string,
  devices: readonly Device[],
  concurrency: number,
  agentPid: number | undefined,
  agentName: string,
): Promise<void> {
  const collect = createCollector();
  const collector: PollOnce = async (device, slot) => {
    const poll = await collect(device, profile, slot);
    if (poll.status.state === 'ok' && device.address === host && device.port === port) samplePoll = poll;
    return { varbinds: poll.status.varbindsReceived, state: poll.status.state };
  };
  const bare = barePoller();
  // Warm-up, every device once each way: row hints, JIT, the reference's sessions.
  const slot = { slot: 1n, intervalS: 60, slotStartNs: 60_000_000_000n };
  for (let i = 0; i < devices.length; i += concurrency) {
    const some = devices.slice(i, i + concurrency);
    await Promise.all(some.flatMap((d) => [collector(d, slot), bare.poll(d, slot)]));
  }
  let ours: PollRun;
  let ref: PollRun;
  try {
    ours = await pollFor(devices, concurrency, seconds * 1000, agentPid, collector);
    ref = await pollFor(devices, concurrency, seconds * 1000, agentPid, bare.poll);
  } finally {
    bare.close();
  }
  const stage = `${label}, ${concurrency} in flight`;
  const notOk = Object.entries(ours.states).filter(([s]) => s !== 'ok');
  const cpu = (r: PollRun) =>
    `this process ${usPer(r.cpu.self, r.polls)}, ${agentName} ${usPer(r.cpu.agent, r.polls)}`;
  rows.push(
    row({
      stage,
      unit: 'devices/s',
      rate: ours.polls / ours.cpu.wallS,
      reference: 'same requests, bare net-snmp',
      referenceRate: ref.polls / ref.cpu.wallS,
      notes:
        `${Math.round(ours.varbinds / ours.polls)} varbinds per poll, ` +
        `${notOk.length === 0 ? 'every poll ok' : `NOT OK: ${notOk.map(([s, n]) => `${n} ${s}`).join(', ')}`}; ` +
        `CPU per poll: collector ${cpu(ours)}; bare ${cpu(ref)}`,
    }),
    row({
      stage,
      unit: 'varbinds/s',
      rate: ours.varbinds / ours.cpu.wallS,
      reference: 'same requests, bare net-snmp',
      referenceRate: ref.varbinds / ref.cpu.wallS,
    }),
  );
  (results.polls as Record<string, unknown>)[stage] = { collector: ours, bare: ref };
  log(
    `${stage}: ${Math.round(ours.polls / ours.cpu.wallS)} devices/s (bare ${Math.round(ref.polls / ref.cpu.wallS)})`,
  );
}
results.polls = {};

// ------------------------------------------------------------------------------------------
// 1. Walks of snmpd: walkColumns vs snmpbulkwalk

/**
 * CPU seconds of the whole machine and of the processes this benchmark measures (itself, its
 * children, snmpd, Kafka); the difference is other work, which skews absolute rates.
 */
function cpuSnapshot(): { wallS: number; machine?: number; measured?: number } {
  const machine = machineBusyS();
  const self = procCpuS('self');
  const stack = [snmpdPid, stackPids.kafka].map((pid) =>
    pid === undefined ? undefined : procCpuS(pid)?.own,
  );
  const wallS = performance.now() / 1000;
  if (machine === undefined || self === undefined || stack.includes(undefined)) return { wallS };
  const stackS = stack.reduce<number>((sum, cpu) => sum + (cpu ?? 0), 0);
  return { wallS, machine, measured: self.own + self.children + stackS };
}
const runStart = cpuSnapshot();
function otherLoad(): string {
  const end = cpuSnapshot();
  if (end.machine === undefined || runStart.machine === undefined) return '?';
  const other = end.machine - runStart.machine - ((end.measured ?? 0) - (runStart.measured ?? 0));
  return `${Math.max(0, Math.round((100 * other) / (end.wallS - runStart.wallS)))} % of one core`;
}

log(`snmpd ${agent}${snmpdPid === undefined ? '' : ` (pid ${snmpdPid})`}: walking ${subtrees.join(' and ')}`);
const walkSession = v2cSession(host, port);
const walkRequester = sessionRequester(walkSession);
const repetitions = [10, collectorDefaults.maxRepetitions];
const empty = (): WalkTotals => ({ walks: 0, varbinds: 0, cpu: noCpu });
const walks = new Map(repetitions.map((r) => [r, { ours: empty(), ref: empty() }]));
try {
  for (const r of repetitions) {
    await ourWalk(walkRequester, r);
    await referenceWalk(r);
  }
  for (let round = 0; round < walkRounds; round++) {
    for (const r of repetitions) {
      const totals = walks.get(r) as { ours: WalkTotals; ref: WalkTotals };
      const slice = (seconds * 1000) / walkRounds;
      for (const side of ['ours', 'ref'] as const) {
        const t = await walkFor(
          slice,
          side === 'ours' ? () => ourWalk(walkRequester, r) : () => referenceWalk(r),
        );
        totals[side] = {
          walks: totals[side].walks + t.walks,
          varbinds: totals[side].varbinds + t.varbinds,
          cpu: addCpu(totals[side].cpu, t.cpu),
        };
      }
    }
    log(`walk round ${round + 1}/${walkRounds}`);
  }
} finally {
  walkSession.close();
}
for (const [r, { ours, ref }] of walks) {
  const cpu = (t: WalkTotals, client: number) =>
    `client ${usPer(client, t.varbinds)}, snmpd ${usPer(t.cpu.agent, t.varbinds)}`;
  rows.push(
    row({
      stage: `walk MIB-2 + UCD, r=${r}`,
      unit: 'varbinds/s',
      rate: ours.varbinds / ours.cpu.wallS,
      reference: `snmpbulkwalk -Cr${r}`,
      referenceRate: ref.varbinds / ref.cpu.wallS,
      goal: 0.8,
      notes:
        `${Math.round(ours.varbinds / ours.walks)} vs ${Math.round(ref.varbinds / ref.walks)} varbinds per walk; ` +
        `CPU per varbind: walkColumns ${cpu(ours, ours.cpu.self)}; ` +
        `snmpbulkwalk ${cpu(ref, ref.cpu.children)} (+ node spawning it ${usPer(ref.cpu.self, ref.varbinds)})`,
    }),
  );
}
results.walks = Object.fromEntries(
  [...walks].map(([r, t]) => [`r${r}`, { ours: t.ours, snmpbulkwalk: t.ref }]),
);

// ------------------------------------------------------------------------------------------
// 2a. Polls of snmpd

const snmpdDevices = buildInventory({
  devices: Array.from({ length: snmpdConcurrency }, (_, i) => ({
    id: `bench-snmpd-${i}`,
    address: host,
    port,
    version: 'v2c' as const,
    community,
  })),
}).devices;
log(`polling snmpd with the ${profile.metrics.length}-metric profile`);
await comparePolls('poll snmpd', snmpdDevices, 1, snmpdPid, 'snmpd');
await comparePolls('poll snmpd', snmpdDevices, snmpdConcurrency, snmpdPid, 'snmpd');

// ------------------------------------------------------------------------------------------
// 2b. Polls of a simulated fleet: in a child process, then in this one

const basePort = 20_000 + Math.floor(Math.random() * 10_000);
const inventoryFile = path.join(tmpdir(), `amoskys-bench-fleet-${randomBytes(4).toString('hex')}.yaml`);
log(
  `starting ${fleetSize} simulated agents in a child process (udp ${basePort}-${basePort + fleetSize - 1})`,
);
const child = spawn(
  process.execPath,
  [
    path.join(import.meta.dirname, '../../src/cli/main.ts'),
    'simulate',
    'devices',
    '--count',
    String(fleetSize),
    '--base-port',
    String(basePort),
    '--write-inventory',
    inventoryFile,
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
try {
  await childReady(child, 60_000);
  const fleet = loadInventory(inventoryFile).devices;
  await comparePolls(
    `poll ${fleetSize} sim. agents (child)`,
    fleet,
    fleetConcurrency,
    child.pid,
    'simulator',
  );
} finally {
  await stopChild(child);
  rmSync(inventoryFile, { force: true });
}

log(`starting ${fleetSize} simulated agents in this process`);
const simulator = await startSimulator({ count: fleetSize, community });
try {
  const fleet = buildInventory(simulator.inventory()).devices;
  await comparePolls(
    `poll ${fleetSize} sim. agents (same proc.)`,
    fleet,
    fleetConcurrency,
    undefined,
    'simulator (in this process)',
  );
} finally {
  await simulator.close();
}

function childReady(proc: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(
      () => reject(new Error(`simulator not ready after ${timeoutMs} ms:\n${stderr}`)),
      timeoutMs,
    );
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/\[simulate\].*Ctrl-C/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with code ${code}:\n${stderr}`));
    });
  });
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

// ------------------------------------------------------------------------------------------
// 3. Produce: build + sign + frame + BatchProducer.send, until every send is acknowledged

if (samplePoll === undefined) throw new Error('no poll of snmpd was ok: nothing to produce');
const poll: DevicePoll = samplePoll;
const deviceIds = Array.from({ length: fleetSize }, (_, i) => `bench-device-${String(i).padStart(4, '0')}`);
const signer = signerFor(generateSigningKey({ keyId: 'bench-producer', devices: deviceIds }));
const kafka = createKafka(config, 'bench');
const topic = `amoskys.bench.producer-${randomBytes(4).toString('hex')}.v1`;
const subject = `${topic}-value`;
const admin = kafka.admin();
await admin.connect();
log(`producing to ${topic}`);
try {
  await admin.createTopics({
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  const applied = await applySubject(config, {
    subject,
    compatibility: 'BACKWARD_TRANSITIVE',
    schema: envelopeSchema.source,
  });
  if (applied.status !== 'registered' && applied.status !== 'unchanged') {
    throw new Error(`cannot register ${subject}: ${JSON.stringify(applied)}`);
  }
  const schemaId = applied.id;
  const metrics = new Registry();
  const producer = new BatchProducer(kafka, createLogger({ level: 'silent' }), { metrics });
  await producer.start();
  /** Sum and count of one of the producer's histograms. */
  const histogram = async (name: string) => {
    const values = (await metrics.getSingleMetric(name)?.get())?.values ?? [];
    const pick = (suffix: string) =>
      values.find((v) => (v as { metricName?: string }).metricName === `${name}_${suffix}`)?.value ?? 0;
    return { sum: pick('sum'), count: pick('count') };
  };

  /** The framed envelope of the sample poll as device `i % fleetSize`, slot + i. */
  const envelopeFor = (i: number) => {
    const slot = poll.slot + BigInt(i);
    const deviceId = deviceIds[i % deviceIds.length] as string;
    const envelope = buildSignedEnvelope(
      { ...poll, deviceId, slot, slotStartNs: slot * BigInt(poll.intervalS) * 1_000_000_000n },
      signer,
      BigInt(Date.now()) * 1_000_000n,
    );
    const framed = frame(schemaId, envelopeSchema.messageIndexes, envelope);
    return { deviceId, value: Buffer.from(framed.buffer, framed.byteOffset, framed.length) };
  };
  for (let i = 0; i < 200; i++) envelopeFor(i);
  await producer.send({ topic, key: deviceIds[0] as string, ...envelopeFor(0) });

  // Sends in chunks of a few ms of work, yielding between them so that acks are handled and
  // batches leave while the next chunk is built (as when polls complete one by one); at most
  // 10,000 unacknowledged, the producer's own queue bound.
  const chunk = 25;
  const maxChunksInFlight = 10_000 / chunk;
  let envelopes = 0;
  let bytes = 0;
  let buildS = 0;
  const batchesBefore = await histogram('amoskys_kafka_batch_messages');
  const sendsBefore = await histogram('amoskys_kafka_send_seconds');
  const [, cpu] = await measure(stackPids.kafka, async () => {
    const inFlight: Promise<unknown>[] = [];
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      const acks: Promise<void>[] = [];
      const t0 = performance.now();
      for (let k = 0; k < chunk; k++) {
        const { deviceId, value } = envelopeFor(++envelopes);
        bytes += value.length;
        acks.push(producer.send({ topic, key: deviceId, value }));
      }
      buildS += (performance.now() - t0) / 1000;
      inFlight.push(Promise.all(acks));
      if (inFlight.length >= maxChunksInFlight) await inFlight.shift();
      else await yieldToLoop();
    }
    await Promise.all(inFlight);
  });
  const batchesAfter = await histogram('amoskys_kafka_batch_messages');
  const sendsAfter = await histogram('amoskys_kafka_send_seconds');
  await producer.close();
  const batches = batchesAfter.count - batchesBefore.count;
  const batchMessages = (batchesAfter.sum - batchesBefore.sum) / batches;
  const sendS = sendsAfter.sum - sendsBefore.sum;

  log('node:crypto sign alone, encode alone');
  const unsigned = encodeUnsignedEnvelope(poll, signer.keyId, 1n);
  rate(() => signer.sign(unsigned), 0.3);
  const signRate = rate(() => signer.sign(unsigned), seconds);
  const encodeRate = rate(() => encodeUnsignedEnvelope(poll, signer.keyId, 1n), Math.min(1, seconds));
  const perS = envelopes / cpu.wallS;
  const size = bytes / envelopes;
  rows.push(
    row({
      stage: 'build + sign + frame + send',
      unit: 'envelopes/s',
      rate: perS,
      reference: 'node:crypto sign alone',
      referenceRate: signRate,
      notes:
        `${envelopes} envelopes of ${poll.metrics.length} metrics, ${Math.round(size)} bytes framed, ${fleetSize} keys, ` +
        `6 partitions, until all acks; CPU per envelope: this process ${usPer(cpu.self, envelopes)}, ` +
        `of which build + sign + frame + enqueue ${usPer(buildS, envelopes)}, Kafka broker ${usPer(cpu.agent, envelopes)} ` +
        `(sign alone ${usPer(1, signRate)}, encode alone ${usPer(1, encodeRate)})`,
    }),
    row({
      stage: 'build + sign + frame + send',
      unit: 'MB/s',
      rate: (perS * size) / 1e6,
      reference: 'node:crypto sign alone',
      referenceRate: (signRate * size) / 1e6,
      notes:
        `value bytes before compression (gzip), MB = 10^6 bytes; ${batches} batches of ${Math.round(batchMessages)} ` +
        `messages on average, ${((1000 * sendS) / batches).toFixed(1)} ms from send to ack each; a batch was ` +
        `in flight ${Math.round((100 * sendS) / cpu.wallS)} % of the time`,
    }),
  );
  results.produce = {
    envelopes,
    bytes,
    metricsPerEnvelope: poll.metrics.length,
    buildS,
    cpu,
    batches,
    batchMessages,
    batchSendS: sendS,
    signPerSecond: signRate,
    encodePerSecond: encodeRate,
  };
} finally {
  await admin
    .deleteTopics({ topics: [topic] })
    .catch((err: unknown) => log(`cannot delete ${topic}: ${err}`));
  await admin.disconnect();
  await deleteSubject(config, subject)
    .then(() => deleteSubject(config, subject, { permanent: true }))
    .catch((err: unknown) => log(`cannot delete subject ${subject}: ${err}`));
}

const netSnmp = (await run('snmpbulkwalk', ['-V'])).stderr.trim();
process.stdout.write(
  `\nProducer side. ${netSnmp}; Node ${process.version}; ${seconds} s per measurement; ` +
    `2 cores shared with snmpd, the simulator and Kafka; other processes used ${otherLoad()} ` +
    `on average during the run (load that skews absolute rates more than ratios)\n\n`,
);
printTable(rows);
const file = saveResults('producer', rows, {
  seconds,
  fleetSize,
  snmpdConcurrency,
  fleetConcurrency,
  ...JSON.parse(JSON.stringify(results, (_, v) => (typeof v === 'bigint' ? v.toString() : v))),
});
process.stdout.write(`results: ${file}\n`);
