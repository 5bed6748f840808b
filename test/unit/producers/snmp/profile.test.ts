import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/core/errors/index.ts';
import {
  builtinProfiles,
  defaultProfile,
  defineProfile,
  type Profile,
  planPoll,
} from '../../../../src/producers/snmp/index.ts';

describe('default profile', () => {
  it('has exactly 29 metric definitions with unique snake_case names and OIDs', () => {
    expect(defaultProfile.metrics).toHaveLength(29);
    expect(new Set(defaultProfile.metrics.map((m) => m.name)).size).toBe(29);
    expect(new Set(defaultProfile.metrics.map((m) => m.oid)).size).toBe(29);
    for (const m of defaultProfile.metrics) expect(m.name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    expect(builtinProfiles.get('default')).toBe(defaultProfile);
  });

  it('starts with the five system OIDs', () => {
    expect(defaultProfile.metrics.slice(0, 5).map((m) => [m.name, m.oid])).toEqual([
      ['sys_descr', '1.3.6.1.2.1.1.1.0'],
      ['sys_uptime', '1.3.6.1.2.1.1.3.0'],
      ['sys_contact', '1.3.6.1.2.1.1.4.0'],
      ['sys_name', '1.3.6.1.2.1.1.5.0'],
      ['sys_location', '1.3.6.1.2.1.1.6.0'],
    ]);
  });

  it('covers CPU, memory, disk and network with 24 definitions from UCD, HOST-RESOURCES and IF-MIB', () => {
    const rest = defaultProfile.metrics.slice(5);
    expect(rest).toHaveLength(24);
    const prefix = (p: string) => rest.filter((m) => m.name.startsWith(p)).length;
    expect(prefix('cpu_raw_')).toBe(5);
    expect(prefix('load_avg_')).toBe(3);
    expect(prefix('mem_')).toBe(6);
    expect(prefix('disk_') + prefix('storage_')).toBe(5);
    expect(prefix('if_')).toBe(5);
    // The 1-minute averages (ssCpuUser..., hrProcessorLoad) are absent right after an agent starts.
    const oids = rest.map((m) => m.oid);
    for (const late of ['1.3.6.1.4.1.2021.11.9.0', '1.3.6.1.4.1.2021.11.11.0', '1.3.6.1.2.1.25.3.3.1.2']) {
      expect(oids).not.toContain(late);
    }
    // 64-bit interface counters.
    expect(rest.find((m) => m.name === 'if_hc_in_octets')?.oid).toBe('1.3.6.1.2.1.31.1.1.1.6');
  });

  it('plans one GET of 19 scalars and three side-by-side table walks with their label columns', () => {
    const plan = planPoll(defaultProfile);
    expect(plan.scalarOids).toHaveLength(19);
    expect(plan.tables.map((t) => [t.name, t.columns.length])).toEqual([
      ['interfaces', 6],
      ['storage', 4],
      ['disks', 3],
    ]);
    expect(plan.tables[0]?.columns[0]).toBe('1.3.6.1.2.1.2.2.1.2'); // ifDescr label first
  });
});

describe('defineProfile', () => {
  const base: Profile = {
    name: 'tiny',
    description: '',
    tables: { t: { description: '', labels: [{ key: 'i', source: 'index' }] } },
    metrics: [
      { kind: 'scalar', name: 'a', oid: '1.3.6.1.2.1.1.3.0', type: 'numeric', unit: '', description: '' },
    ],
  };

  it('accepts a valid profile', () => {
    expect(defineProfile(base)).toBe(base);
  });

  it('names every invalid path', () => {
    const bad: Profile = {
      ...base,
      tables: {
        t: {
          description: '',
          labels: [
            { key: 'i', source: 'index' },
            { key: 'i', source: 'index' },
          ],
        },
      },
      metrics: [
        ...base.metrics,
        { kind: 'scalar', name: 'a', oid: '1.3.6.1.2.1.1.3.0', type: 'numeric', unit: '', description: '' },
        {
          kind: 'column',
          name: 'b',
          oid: '1.3.6.1.2.1.2.2.1.8',
          table: 'nope',
          type: 'numeric',
          unit: '',
          description: '',
        },
      ],
    };
    let error: unknown;
    try {
      defineProfile(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => [i.path, i.message])).toEqual([
      ['metrics.1.name', 'duplicate name'],
      ['metrics.1.oid', 'duplicate OID'],
      ['metrics.2.table', 'no such table in the profile'],
      ['tables.t.labels', 'duplicate label key'],
    ]);
  });

  it('rejects names that are not snake_case and OIDs that are not numeric', () => {
    const metric = {
      kind: 'scalar',
      name: 'ifInOctets',
      oid: 'IF-MIB::ifInOctets.1',
      type: 'numeric',
      unit: '',
      description: '',
    } as const;
    expect(() => defineProfile({ ...base, metrics: [metric] })).toThrow(
      /metrics\.0\.name[\s\S]*metrics\.0\.oid/,
    );
  });
});
