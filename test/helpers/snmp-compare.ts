/**
 * Checks collected metric values against Net-SNMP's own tools: the value of every metric must
 * equal a direct snmpget/snmpbulkwalk read of the same OID (static values), lie between a read
 * before and one after (counters, uptime), or within their range (gauges). Used by the collector
 * test and the producer's end-to-end test.
 */
import { expect } from 'vitest';
import type { Config } from '../../src/core/config/index.ts';
import type { Metric } from '../../src/core/telemetry/index.ts';
import { defaultProfile } from '../../src/producers/snmp/index.ts';
import { type CliVarbind, snmpbulkwalk, snmpget } from './snmp-cli.ts';

/** Everything the profile reads, straight from the agent with Net-SNMP's CLI. */
export async function cliRead(config: Config): Promise<Map<string, CliVarbind>> {
  const scalars = defaultProfile.metrics.filter((m) => m.kind === 'scalar').map((m) => m.oid);
  const tables = [
    '1.3.6.1.2.1.2.2.1',
    '1.3.6.1.2.1.31.1.1.1',
    '1.3.6.1.2.1.25.2.3.1',
    '1.3.6.1.4.1.2021.9.1',
  ];
  const reads = await Promise.all([snmpget(config, scalars), ...tables.map((t) => snmpbulkwalk(config, t))]);
  return new Map(reads.flat().map((vb) => [vb.oid, vb]));
}

/** Static values must be equal; counters and uptime lie between a read before and one after. */
const monotonic = new Set([
  'sys_uptime',
  'cpu_raw_user',
  'cpu_raw_nice',
  'cpu_raw_system',
  'cpu_raw_idle',
  'cpu_raw_wait',
  'if_hc_in_octets',
  'if_hc_out_octets',
  'if_in_errors',
  'if_out_errors',
]);
const fixed = new Set([
  'sys_descr',
  'sys_contact',
  'sys_name',
  'sys_location',
  'mem_total_real',
  'mem_total_swap',
  'disk_total',
  'storage_allocation_units',
  'if_oper_status',
]);
const cliTypes: Record<string, string[]> = {
  string: ['STRING'],
  numeric: ['INTEGER', 'Gauge32', 'Timeticks'],
};

function numberOf(m: Metric): number | bigint | string {
  return m.value.value;
}

/** Asserts that `metrics` (one poll of the default profile) match the agent read `before` and `after`. */
export function expectMetricsMatchAgent(
  metrics: readonly Metric[],
  before: ReadonlyMap<string, CliVarbind>,
  after: ReadonlyMap<string, CliVarbind>,
): void {
  const result = { metrics };
  for (const m of result.metrics) {
    const b = before.get(m.oid);
    const a = after.get(m.oid);
    const what = `${m.name} ${m.oid}`;
    expect(b, `${what} read by snmpget/snmpbulkwalk`).toBeDefined();
    expect(a, what).toBeDefined();
    if (b === undefined || a === undefined) continue;
    const def = defaultProfile.metrics.find((d) => d.name === m.name);
    // Types: the mapping of docs/ (Counter32 -> bits 32, Counter64 -> bits 64, ...).
    if (m.value.kind === 'counter') expect(b.type, what).toBe(`Counter${m.value.bits}`);
    else if (def?.type === 'decimal') expect(b.type, what).toBe('STRING');
    else expect(cliTypes[m.value.kind], what).toContain(b.type);

    if (fixed.has(m.name)) {
      expect(String(m.value.value), what).toBe(b.value);
      expect(String(m.value.value), what).toBe(a.value);
    } else if (monotonic.has(m.name)) {
      const ours = BigInt(numberOf(m));
      expect(
        ours >= BigInt(b.value) && ours <= BigInt(a.value),
        `${what}: ${b.value} <= ${ours} <= ${a.value}`,
      ).toBe(true);
    } else {
      // Gauges (free memory, load, disk and storage use) may move either way between reads.
      const ours = Number(numberOf(m));
      const lo = Math.min(Number(b.value), Number(a.value));
      const hi = Math.max(Number(b.value), Number(a.value));
      const slack = b.value === a.value ? 0 : Math.max(1, hi * 0.02);
      expect(ours, `${what} between ${b.value} and ${a.value}`).toBeGreaterThanOrEqual(lo - slack);
      expect(ours, what).toBeLessThanOrEqual(hi + slack);
    }
  }

  // No table row is dropped, and each row carries its index and its label column's value.
  for (const def of defaultProfile.metrics) {
    if (def.kind !== 'column') continue;
    const cliRows = [...before.keys()].filter((oid) => oid.startsWith(`${def.oid}.`) && after.has(oid));
    const ours = result.metrics.filter((m) => m.name === def.name);
    expect(cliRows.length, def.name).toBeGreaterThan(0);
    expect(
      ours.map((m) => m.oid),
      def.name,
    ).toEqual(expect.arrayContaining(cliRows));
  }
  for (const m of result.metrics.filter((x) => x.name === 'if_hc_in_octets')) {
    const index = m.oid.split('.').at(-1) ?? '';
    expect(m.labels).toEqual([
      { key: 'ifIndex', value: index },
      { key: 'ifDescr', value: before.get(`1.3.6.1.2.1.2.2.1.2.${index}`)?.value },
    ]);
  }
}
