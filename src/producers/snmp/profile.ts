/**
 * Metric profiles: validation, the built-in set, and the plan a poll follows (which OIDs to GET,
 * which columns to walk per table).
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors/index.ts';
import { defaultProfile } from './profiles/default.ts';
import { MetricType, type Profile } from './types.ts';

/** Numeric dotted OID without a leading dot, e.g. `1.3.6.1.2.1.1.3.0`. */
export const oidPattern = /^[0-2](\.(0|[1-9]\d*))+$/;
const oid = z.string().regex(oidPattern, 'expected a numeric OID like 1.3.6.1.2.1.1.3.0');
const metricName = z.string().regex(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, 'expected a snake_case name');
const metricType = z.enum(Object.values(MetricType) as [MetricType, ...MetricType[]]);

const labelSchema = z.discriminatedUnion('source', [
  z.strictObject({ key: z.string().min(1), source: z.literal('index') }),
  z.strictObject({ key: z.string().min(1), source: z.literal('column'), oid }),
]);

const common = {
  name: metricName,
  oid,
  type: metricType,
  unit: z.string(),
  description: z.string(),
};

/** Schema of a {@link Profile}; {@link defineProfile} adds the cross-field checks. */
export const profileSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lower-case profile name'),
  description: z.string(),
  tables: z.record(
    z.string().min(1),
    z.strictObject({ description: z.string(), labels: z.array(labelSchema) }),
  ),
  metrics: z
    .array(
      z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('scalar'), ...common }),
        z.strictObject({ kind: z.literal('column'), table: z.string().min(1), ...common }),
      ]),
    )
    .min(1),
});

/**
 * Validates a profile: schema, unique metric names and OIDs, column metrics pointing at a
 * defined table, label keys unique per table.
 * @throws ConfigError naming each failing path of the profile.
 */
export function defineProfile(profile: Profile, source = `profile ${profile.name}`): Profile {
  const issues: { path: string; message: string; value: unknown }[] = [];
  const parsed = profileSchema.safeParse(profile);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ path: issue.path.map(String).join('.'), message: issue.message, value: undefined });
    }
  } else {
    const names = new Set<string>();
    const oids = new Set<string>();
    profile.metrics.forEach((m, i) => {
      if (names.has(m.name))
        issues.push({ path: `metrics.${i}.name`, message: 'duplicate name', value: m.name });
      if (oids.has(m.oid)) issues.push({ path: `metrics.${i}.oid`, message: 'duplicate OID', value: m.oid });
      names.add(m.name);
      oids.add(m.oid);
      if (m.kind === 'column' && profile.tables[m.table] === undefined) {
        issues.push({ path: `metrics.${i}.table`, message: 'no such table in the profile', value: m.table });
      }
    });
    for (const [table, def] of Object.entries(profile.tables)) {
      const keys = def.labels.map((l) => l.key);
      if (new Set(keys).size !== keys.length) {
        issues.push({ path: `tables.${table}.labels`, message: 'duplicate label key', value: keys });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues.map((i) => ({ ...i, source })));
  return profile;
}

/** Built-in profiles by name. */
export const builtinProfiles: ReadonlyMap<string, Profile> = new Map([
  [defaultProfile.name, defineProfile(defaultProfile)],
]);

/** One table of a poll plan: the columns to walk together and how to label the rows. */
export interface TablePlan {
  name: string;
  /** Label and metric column OIDs, deduplicated, labels first. */
  columns: string[];
}

/** What a poll of a profile requests. */
export interface PollPlan {
  /** Instance OIDs of the scalar metrics, in profile order. */
  scalarOids: string[];
  tables: TablePlan[];
}

/** The requests a poll of `profile` makes. */
export function planPoll(profile: Profile): PollPlan {
  const scalarOids = profile.metrics.filter((m) => m.kind === 'scalar').map((m) => m.oid);
  const tables: TablePlan[] = [];
  for (const [name, def] of Object.entries(profile.tables)) {
    const columns = [
      ...def.labels.flatMap((l) => (l.source === 'column' ? [l.oid] : [])),
      ...profile.metrics.flatMap((m) => (m.kind === 'column' && m.table === name ? [m.oid] : [])),
    ];
    const unique = [...new Set(columns)];
    if (profile.metrics.some((m) => m.kind === 'column' && m.table === name)) {
      tables.push({ name, columns: unique });
    }
  }
  return { scalarOids, tables };
}
