import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEATURE_FIELD_WATERMARK } from '../../../../schemas/clickhouse/0001_tables.ts';
import { migrations } from '../../../../schemas/clickhouse/index.ts';
import {
  type AppliedMigration,
  capabilitiesFor,
  capabilitiesOfVariant,
  escapeTsvBytes,
  type Migration,
  parseServerVersion,
  planMigrations,
  renderMigration,
  SchemaVariant,
} from '../../../../src/core/clickhouse/index.ts';
import { ClickHouseSchemaError } from '../../../../src/core/errors/index.ts';
import { featureColumns } from '../../../../src/core/features/columns.ts';

const legacy = capabilitiesOfVariant(SchemaVariant.Legacy);
const modern = capabilitiesOfVariant(SchemaVariant.Modern);
const render = (m: Migration, modernServer: boolean, database = 'amoskys') =>
  renderMigration(m, { database, capabilities: modernServer ? modern : legacy });
const sql = (modernServer: boolean) =>
  migrations.flatMap((m) => render(m, modernServer).statements).join(';\n');

describe('server version', () => {
  it('parses 18.16 and current versions and picks the variant', () => {
    expect(parseServerVersion('18.16.1')).toMatchObject({ major: 18, minor: 16, patch: 1 });
    expect(parseServerVersion('25.8.2.29')).toMatchObject({ major: 25, minor: 8, patch: 2 });
    expect(capabilitiesFor(parseServerVersion('18.16.1')).variant).toBe('legacy');
    expect(capabilitiesFor(parseServerVersion('21.12.4')).modern).toBe(false);
    expect(capabilitiesFor(parseServerVersion('22.1.3.7')).variant).toBe('modern');
    expect(capabilitiesFor(parseServerVersion('25.8.2.29')).modern).toBe(true);
  });
  it('refuses what is not a version', () => {
    expect(() => parseServerVersion('')).toThrow(ClickHouseSchemaError);
    expect(() => parseServerVersion('v18')).toThrow(/cannot parse/);
  });
});

describe('migration files', () => {
  it('lists every numbered file in schemas/clickhouse, in order', () => {
    const files = readdirSync(new URL('../../../../schemas/clickhouse/', import.meta.url))
      .filter((f) => /^\d{4}_.*\.ts$/.test(f))
      .sort();
    expect(files).toEqual(migrations.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}.ts`));
  });
  it('covers every feature column (a new one needs a new migration)', () => {
    expect(Math.max(...featureColumns.map((c) => c.field))).toBeLessThanOrEqual(FEATURE_FIELD_WATERMARK);
  });
});

describe('rendering', () => {
  it('is stable: same context, same checksum; database and variant change it', () => {
    for (const m of migrations) {
      expect(render(m, false).checksum).toBe(render(m, false).checksum);
      expect(render(m, false, 'other').checksum === render(m, false).checksum).toBe(
        render(m, false).statements.length === 0,
      );
    }
    expect(render(migrations[0] as Migration, true).checksum).not.toBe(
      render(migrations[0] as Migration, false).checksum,
    );
  });

  it('legacy: only what 18.16 has', () => {
    const text = sql(false);
    for (const missing of [
      'DateTime64',
      'LowCardinality',
      'Map(',
      'TTL',
      'CODEC',
      'GRANT',
      'ROLE',
      'deduplication',
    ]) {
      expect(text).not.toContain(missing);
    }
    expect(render(migrations[2] as Migration, false).statements).toEqual([]);
  });

  it('modern: LowCardinality, ns aliases, dedup window, roles and grants', () => {
    const text = sql(true);
    expect(text).toContain('device_id LowCardinality(String)');
    expect(text).toContain(
      "slot_start_time DateTime64(9, 'UTC') ALIAS fromUnixTimestamp64Nano(toInt64(slot_start_ns))",
    );
    expect(text).toContain('non_replicated_deduplication_window');
    expect(render(migrations[2] as Migration, true).statements).toEqual([
      'CREATE ROLE IF NOT EXISTS amoskys_sink',
      'CREATE ROLE IF NOT EXISTS amoskys_analyst',
      'GRANT INSERT, SELECT ON amoskys.raw_envelopes TO amoskys_sink',
      'GRANT INSERT, SELECT ON amoskys.metrics TO amoskys_sink',
      'GRANT INSERT, SELECT ON amoskys.features TO amoskys_sink',
      'GRANT INSERT, SELECT ON amoskys.dlq TO amoskys_sink',
      'GRANT SELECT ON amoskys.* TO amoskys_analyst',
    ]);
  });

  it('both: ReplacingMergeTree keyed on the idempotency key, ns kept as UInt64', () => {
    for (const modernServer of [false, true]) {
      const [raw, metrics, features, dlq] = render(migrations[0] as Migration, modernServer).statements;
      for (const t of [raw, metrics, features]) {
        expect(t).toMatch(/ENGINE = ReplacingMergeTree\(kafka_offset\)/);
        expect(t).toMatch(/ORDER BY \(.*idempotency_key\)/);
        expect(t).toMatch(/PARTITION BY toYYYYMM\((slot_start|ts)\)/);
      }
      expect(raw).toContain('slot_start_ns UInt64');
      expect(metrics).toContain('observed_at_ns UInt64');
      expect(dlq).toContain('ORDER BY (source_topic, source_partition, source_offset)');
      for (const c of featureColumns) expect(features).toContain(`\n    ${c.name} Nullable(`);
    }
  });
});

describe('planMigrations', () => {
  const applied = (variant: SchemaVariant): AppliedMigration[] =>
    migrations.map((m) => ({
      version: m.version,
      name: m.name,
      checksum: renderMigration(m, { database: 'amoskys', capabilities: capabilitiesOfVariant(variant) })
        .checksum,
      variant,
      serverVersion: '18.16.1',
      appliedAt: '2024-01-01 00:00:00',
    }));

  it('has nothing to do when everything is applied, checking each against its own variant', () => {
    expect(planMigrations(migrations, applied('legacy'), 'amoskys', modern)).toEqual([]);
  });
  it('returns the pending ones rendered for the current server', () => {
    const pending = planMigrations(migrations, applied('legacy').slice(0, 1), 'amoskys', modern);
    expect(pending.map((m) => m.version)).toEqual([2, 3]);
    expect(pending[1]?.statements.length).toBeGreaterThan(0);
  });
  it('refuses a changed applied migration, naming it, and an unknown one', () => {
    const changed = migrations.map((m) =>
      m.version === 2
        ? { ...m, render: (c: Parameters<Migration['render']>[0]) => [...m.render(c), 'SELECT 1'] }
        : m,
    );
    expect(() => planMigrations(changed, applied('legacy'), 'amoskys', legacy)).toThrow(
      /2 \(views\) changed/,
    );
    expect(() => planMigrations(migrations.slice(0, 2), applied('legacy'), 'amoskys', legacy)).toThrow(
      /3 \(access\) is applied but unknown/,
    );
  });
  it('refuses a list out of order', () => {
    expect(() => planMigrations([...migrations].reverse(), [], 'amoskys', legacy)).toThrow(
      /strictly increasing/,
    );
  });
});

describe('escapeTsvBytes', () => {
  it('escapes only backslash, tab, newline, CR and NUL', () => {
    expect([...escapeTsvBytes(Uint8Array.from([0, 9, 10, 13, 0x5c, 0x41, 0xff]))]).toEqual([
      0x5c, 0x30, 0x5c, 0x74, 0x5c, 0x6e, 0x5c, 0x72, 0x5c, 0x5c, 0x41, 0xff,
    ]);
  });
});
