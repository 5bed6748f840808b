/**
 * Readings of one poll -> Metric[] in profile order, table rows joined with their labels by
 * index. Pure: the collector feeds it what the agent returned, unit tests feed it fixtures.
 */
import type { Label, Metric } from '../../core/telemetry/index.ts';
import type { Profile } from './types.ts';
import { labelValue, mapVarbind, type RawVarbind } from './varbind.ts';

/** One row of a walked column: the OID suffix after the column OID, and the varbind. */
export interface ColumnRow {
  index: string;
  varbind: RawVarbind;
}

/** What a poll read, keyed by OID. */
export interface Readings {
  /** Scalar instance OID -> varbind; absent when its request failed. */
  scalars: ReadonlyMap<string, RawVarbind>;
  /** Column OID -> rows in walk order; absent when its walk failed before any row. */
  columns: ReadonlyMap<string, readonly ColumnRow[]>;
  /** Why a scalar or column OID has no reading (its request failed), by OID. */
  unread: ReadonlyMap<string, string>;
}

/** The metrics of a poll, and one line per metric definition that produced no value. */
export interface BuiltMetrics {
  metrics: Metric[];
  /** `name: why`, e.g. `cpu_raw_wait: NoSuchObject`. */
  problems: string[];
  /** Metric definitions with at least one value. */
  definitionsWithValues: number;
}

/** Builds the metrics of `profile` from what was read. */
export function buildMetrics(profile: Profile, readings: Readings): BuiltMetrics {
  const metrics: Metric[] = [];
  const problems: string[] = [];
  let definitionsWithValues = 0;
  const labelCache = new Map<string, Map<string, Label[]>>();

  for (const def of profile.metrics) {
    if (def.kind === 'scalar') {
      const vb = readings.scalars.get(def.oid);
      if (vb === undefined) {
        problems.push(`${def.name}: ${readings.unread.get(def.oid) ?? 'not read'}`);
        continue;
      }
      const mapped = mapVarbind(def.type, vb);
      if (!mapped.ok) {
        problems.push(`${def.name}: ${mapped.problem}`);
        continue;
      }
      metrics.push({ name: def.name, value: mapped.value, unit: def.unit, oid: def.oid, labels: [] });
      definitionsWithValues++;
      continue;
    }

    const rows = readings.columns.get(def.oid);
    if (rows === undefined) {
      problems.push(`${def.name}: ${readings.unread.get(def.oid) ?? 'not read'}`);
      continue;
    }
    if (rows.length === 0) {
      problems.push(`${def.name}: no rows`);
      continue;
    }
    let labels = labelCache.get(def.table);
    if (labels === undefined) {
      labels = rowLabels(profile, def.table, readings);
      labelCache.set(def.table, labels);
    }
    let bad = 0;
    let firstProblem = '';
    const before = metrics.length;
    for (const row of rows) {
      const mapped = mapVarbind(def.type, row.varbind);
      if (!mapped.ok) {
        if (bad++ === 0) firstProblem = `${mapped.problem} at ${def.oid}.${row.index}`;
        continue;
      }
      metrics.push({
        name: def.name,
        value: mapped.value,
        unit: def.unit,
        oid: `${def.oid}.${row.index}`,
        labels: labels.get(row.index) ?? indexOnlyLabels(profile, def.table, row.index),
      });
    }
    if (bad > 0) problems.push(`${def.name}: ${bad} of ${rows.length} rows unusable (${firstProblem})`);
    if (metrics.length > before) definitionsWithValues++;
  }
  return { metrics, problems, definitionsWithValues };
}

/**
 * Labels of every row of a table, by index. A label column without a row at an index gives an
 * empty value there: the metric is kept, its label is just unknown.
 */
function rowLabels(profile: Profile, table: string, readings: Readings): Map<string, Label[]> {
  const defs = profile.tables[table]?.labels ?? [];
  const byColumn = new Map<string, Map<string, RawVarbind>>();
  for (const def of defs) {
    if (def.source !== 'column') continue;
    const rows = readings.columns.get(def.oid) ?? [];
    byColumn.set(def.oid, new Map(rows.map((r) => [r.index, r.varbind])));
  }
  const indexes = new Set<string>();
  for (const m of profile.metrics) {
    if (m.kind !== 'column' || m.table !== table) continue;
    for (const row of readings.columns.get(m.oid) ?? []) indexes.add(row.index);
  }
  const out = new Map<string, Label[]>();
  for (const index of indexes) {
    out.set(
      index,
      defs.map((def) =>
        def.source === 'index'
          ? { key: def.key, value: index }
          : { key: def.key, value: labelValue(byColumn.get(def.oid)?.get(index)) },
      ),
    );
  }
  return out;
}

function indexOnlyLabels(profile: Profile, table: string, index: string): Label[] {
  return (profile.tables[table]?.labels ?? []).map((def) => ({
    key: def.key,
    value: def.source === 'index' ? index : '',
  }));
}
