/**
 * The collection logic without sockets: GET batching, side-by-side GETBULK walks and the join of
 * table rows with their labels, replayed against a recorded walk of the real snmpd.
 */
import snmp from 'net-snmp';
import { describe, expect, it } from 'vitest';
import type { Metric } from '../../../../src/core/telemetry/index.ts';
import {
  buildMetrics,
  classifyError,
  defaultProfile,
  fitTimeouts,
  getScalars,
  type Profile,
  planPoll,
  type RawVarbind,
  walkColumns,
} from '../../../../src/producers/snmp/index.ts';
import { loadWalk, ReplayAgent } from './replay-agent.ts';

const T = snmp.ObjectType;
const walkOptions = { maxRepetitions: 25, maxRowsPerColumn: 10_000 };

/** What the collector does, against a requester. */
async function collect(agent: ReplayAgent, profile: Profile = defaultProfile, maxRepetitions = 25) {
  const plan = planPoll(profile);
  const scalars = await getScalars(agent, plan.scalarOids, 32);
  const columns = new Map();
  for (const t of plan.tables) {
    const walked = await walkColumns(agent, t.columns, { ...walkOptions, maxRepetitions });
    for (const [oid, rows] of walked.columns) columns.set(oid, rows);
  }
  return buildMetrics(profile, { scalars: scalars.values, columns, unread: new Map() });
}

const find = (metrics: Metric[], name: string, index?: string) =>
  metrics.find((m) => m.name === name && (index === undefined || m.oid.endsWith(`.${index}`)));

describe('collection against the recorded snmpd walk', () => {
  it('yields all 29 definitions with the recorded values, rows joined with their labels', async () => {
    const agent = new ReplayAgent(loadWalk());
    const built = await collect(agent);
    expect(built.problems).toEqual([]);
    expect(built.definitionsWithValues).toBe(29);
    expect(new Set(built.metrics.map((m) => m.name)).size).toBe(29);

    expect(find(built.metrics, 'sys_name')?.value).toEqual({ kind: 'string', value: 'amoskys-local-snmpd' });
    expect(find(built.metrics, 'sys_uptime')).toMatchObject({
      unit: 'centiseconds',
      value: { kind: 'numeric' },
    });
    expect(find(built.metrics, 'load_avg_1min')?.value.kind).toBe('numeric');
    expect(find(built.metrics, 'cpu_raw_idle')?.value).toMatchObject({ kind: 'counter', bits: 32 });

    // ifHCInOctets (ifXTable) carries ifDescr (ifTable), joined on ifIndex.
    const eth0 = find(built.metrics, 'if_hc_in_octets', '4');
    expect(eth0).toMatchObject({
      oid: '1.3.6.1.2.1.31.1.1.1.6.4',
      unit: 'bytes',
      value: { kind: 'counter', bits: 64 },
      labels: [
        { key: 'ifIndex', value: '4' },
        { key: 'ifDescr', value: 'eth0' },
      ],
    });
    expect(built.metrics.filter((m) => m.name === 'if_oper_status')).toHaveLength(4);
    expect(find(built.metrics, 'storage_size', '31')?.labels).toEqual([
      { key: 'hrStorageIndex', value: '31' },
      { key: 'hrStorageDescr', value: '/' },
    ]);
    expect(find(built.metrics, 'disk_total', '1')?.labels).toEqual([
      { key: 'dskIndex', value: '1' },
      { key: 'dskPath', value: '/' },
    ]);
  });

  it('walks the columns of a table side by side: one request per table when the rows fit', async () => {
    const agent = new ReplayAgent(loadWalk());
    await collect(agent);
    expect(agent.requests.map((r) => [r.op, r.oids.length])).toEqual([
      ['get', 19],
      ['getBulk', 6],
      ['getBulk', 4],
      ['getBulk', 3],
    ]);
  });

  it('gets the same metrics when the agent cuts responses short or few repetitions are asked', async () => {
    const full = await collect(new ReplayAgent(loadWalk()));
    const cut = new ReplayAgent(loadWalk(), { maxVarbindsPerResponse: 7 });
    expect((await collect(cut)).metrics).toEqual(full.metrics);
    expect(cut.requests.length).toBeGreaterThan(4);
    expect((await collect(new ReplayAgent(loadWalk()), defaultProfile, 1)).metrics).toEqual(full.metrics);
  });

  it('splits a GET the agent answers with tooBig', async () => {
    const agent = new ReplayAgent(loadWalk(), { tooBigAbove: 5 });
    const got = await getScalars(agent, planPoll(defaultProfile).scalarOids, 32);
    expect(got.failures).toEqual([]);
    expect(got.values.size).toBe(19);
    // 19 -> 10 + 9 -> 5 + 5 + 5 + 4: the answered requests carry every OID once.
    const answered = agent.requests.filter((r) => r.oids.length <= 5);
    expect(answered.reduce((n, r) => n + r.oids.length, 0)).toBe(19);
  });
});

describe('walkColumns', () => {
  const column = '1.3.6.1.2.1.2.2.1.10';
  const row = (index: string, value: number): RawVarbind => ({
    oid: `${column}.${index}`,
    type: T.Counter,
    value,
  });

  it('orders indexes by arcs, not as strings', async () => {
    const agent = new ReplayAgent([row('10', 1), row('9', 2), row('100', 3)]);
    const walked = await walkColumns(agent, [column], walkOptions);
    expect(walked.columns.get(column)?.map((r) => r.index)).toEqual(['9', '10', '100']);
  });

  it('stops a column whose OIDs do not increase and says so', async () => {
    const looping = {
      get: async () => [],
      getBulk: async () => [[row('2', 1), row('1', 1)]],
    };
    const walked = await walkColumns(looping, [column], walkOptions);
    expect(walked.columns.get(column)?.map((r) => r.index)).toEqual(['2']);
    expect(walked.problems[0]).toContain('OID not increasing');
  });

  it('cuts off a runaway column', async () => {
    const agent = new ReplayAgent(Array.from({ length: 50 }, (_, i) => row(String(i + 1), i)));
    const walked = await walkColumns(agent, [column], { maxRepetitions: 10, maxRowsPerColumn: 20 });
    expect(walked.columns.get(column)).toHaveLength(20);
    expect(walked.problems[0]).toContain('more than 20 rows');
  });

  it('keeps the rows read before a request failed, and the error', async () => {
    let calls = 0;
    const flaky = {
      get: async () => [],
      getBulk: async (): Promise<RawVarbind[][]> => {
        if (calls++ > 0)
          throw Object.assign(new Error('Request timed out'), { name: 'RequestTimedOutError' });
        return [[row('1', 1), row('2', 2)]];
      },
    };
    const walked = await walkColumns(flaky, [column], { maxRepetitions: 2, maxRowsPerColumn: 100 });
    expect(walked.columns.get(column)).toHaveLength(2);
    expect(classifyError(walked.error).kind).toBe('timeout');
  });
});

describe('buildMetrics', () => {
  it('lists each definition without a value and why, and keeps rows whose label row is missing', () => {
    const profile = defaultProfile;
    const ifDescr = '1.3.6.1.2.1.2.2.1.2';
    const inErrors = '1.3.6.1.2.1.2.2.1.14';
    const built = buildMetrics(profile, {
      scalars: new Map([
        ['1.3.6.1.2.1.1.5.0', { oid: '1.3.6.1.2.1.1.5.0', type: T.OctetString, value: Buffer.from('r1') }],
        ['1.3.6.1.2.1.1.1.0', { oid: '1.3.6.1.2.1.1.1.0', type: T.NoSuchObject, value: null }],
      ]),
      columns: new Map([
        [
          ifDescr,
          [{ index: '1', varbind: { oid: `${ifDescr}.1`, type: T.OctetString, value: Buffer.from('lo') } }],
        ],
        [
          inErrors,
          [
            { index: '1', varbind: { oid: `${inErrors}.1`, type: T.Counter, value: 3 } },
            { index: '2', varbind: { oid: `${inErrors}.2`, type: T.Counter, value: 4 } },
          ],
        ],
        ['1.3.6.1.4.1.2021.9.1.6', []],
      ]),
      unread: new Map([['1.3.6.1.2.1.1.3.0', 'request timed out']]),
    });
    expect(built.definitionsWithValues).toBe(2);
    expect(built.problems).toContain('sys_descr: NoSuchObject');
    expect(built.problems).toContain('sys_uptime: request timed out');
    expect(built.problems).toContain('disk_total: no rows');
    expect(built.metrics.filter((m) => m.name === 'if_in_errors').map((m) => m.labels)).toEqual([
      [
        { key: 'ifIndex', value: '1' },
        { key: 'ifDescr', value: 'lo' },
      ],
      [
        { key: 'ifIndex', value: '2' },
        { key: 'ifDescr', value: '' },
      ],
    ]);
  });
});

describe('classifyError and fitTimeouts', () => {
  it('classifies net-snmp errors', () => {
    const named = (name: string, extra: object = {}) => Object.assign(new Error('x'), { name }, extra);
    expect(classifyError(named('RequestTimedOutError')).kind).toBe('timeout');
    expect(
      classifyError(named('ResponseInvalidError', { code: snmp.ResponseInvalidCode.EAuthFailure })).kind,
    ).toBe('auth');
    expect(
      classifyError(named('RequestFailedError', { status: snmp.ErrorStatus.AuthorizationError })).kind,
    ).toBe('auth');
    expect(classifyError(named('RequestFailedError', { status: snmp.ErrorStatus.GeneralError })).kind).toBe(
      'other',
    );
  });

  it('fits request attempts inside the time left before the deadline', () => {
    expect(fitTimeouts(1000, 2, Number.POSITIVE_INFINITY)).toEqual({ timeoutMs: 1000, retries: 2 });
    expect(fitTimeouts(1000, 2, 5000)).toEqual({ timeoutMs: 1000, retries: 2 });
    expect(fitTimeouts(1000, 2, 2500)).toEqual({ timeoutMs: 1000, retries: 1 });
    expect(fitTimeouts(1000, 2, 500)).toEqual({ timeoutMs: 450, retries: 0 });
  });
});
