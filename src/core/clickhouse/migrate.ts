/**
 * Applies ClickHouse migrations: detects the server version, renders each migration for its
 * capability set, applies the pending ones in version order and records each in
 * `<db>.schema_migrations`. Idempotent: a second run applies nothing. An applied migration whose
 * rendering (for the variant it was applied with) no longer matches its recorded checksum stops
 * the run before anything is applied.
 *
 * Every DDL statement is `IF NOT EXISTS`, so a run killed between a statement and its record
 * is simply repeated. Two concurrent runs are not coordinated (18.16 has no locks to use): run
 * migrations from one place (the compose `init` job, a deploy step).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseSchemaError } from '../errors/index.ts';
import {
  type Capabilities,
  capabilitiesFor,
  capabilitiesOfVariant,
  parseServerVersion,
  type SchemaVariant,
} from './capabilities.ts';
import { clickhouseFailure, describeClickHouseFailure } from './errors.ts';
import { type Migration, type RenderedMigration, renderMigration } from './migration.ts';

/** Name of the table that records applied migrations. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Target database; created when missing (not in a dry run). */
  database: string;
  migrations: readonly Migration[];
  /** Render and compare, change nothing. @default false */
  dryRun?: boolean;
}

/** One row of `schema_migrations`. */
export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  variant: SchemaVariant;
  serverVersion: string;
  /** `YYYY-MM-DD hh:mm:ss`, UTC. */
  appliedAt: string;
}

/** What a run did (or, dry, would do). */
export interface MigrateResult {
  database: string;
  serverVersion: string;
  variant: SchemaVariant;
  dryRun: boolean;
  /** Migrations applied by this run (dry run: that would be applied), in order. */
  applied: RenderedMigration[];
  /** Versions already applied before this run. */
  alreadyApplied: number[];
}

/** The DDL of the migrations table: the same on every server version. */
export function migrationsTableDdl(database: string): string {
  return `CREATE TABLE IF NOT EXISTS ${database}.${MIGRATIONS_TABLE}
(
    version UInt32,
    name String,
    checksum String COMMENT 'sha256 of the rendered SQL',
    variant String COMMENT 'legacy | modern: the capability set it was rendered for',
    server_version String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY version`;
}

/** Validates the list: positive, strictly increasing versions, snake_case names. */
export function checkMigrationList(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new ClickHouseSchemaError(
        `migration versions must be positive and strictly increasing: ${m.version} (${m.name}) after ${previous}`,
        { version: m.version, name: m.name },
      );
    }
    if (!/^[a-z][a-z0-9_]*$/.test(m.name)) {
      throw new ClickHouseSchemaError(`migration name ${JSON.stringify(m.name)} is not snake_case`, {
        version: m.version,
      });
    }
    previous = m.version;
  }
}

/**
 * Compares applied migrations with the list and returns the pending ones rendered for `current`.
 * Throws, naming every offender, when an applied migration changed or is unknown to this build.
 */
export function planMigrations(
  migrations: readonly Migration[],
  applied: readonly AppliedMigration[],
  database: string,
  current: Capabilities,
): RenderedMigration[] {
  checkMigrationList(migrations);
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const problems: string[] = [];
  for (const a of applied) {
    const m = byVersion.get(a.version);
    if (m === undefined) {
      problems.push(`${a.version} (${a.name}) is applied but unknown to this build (is the build older?)`);
      continue;
    }
    const rendered = renderMigration(m, { database, capabilities: capabilitiesOfVariant(a.variant) });
    if (rendered.checksum !== a.checksum || m.name !== a.name) {
      problems.push(
        `${m.version} (${m.name}) changed after it was applied (recorded ${a.checksum.slice(0, 12)}, now ${rendered.checksum.slice(0, 12)}, variant ${a.variant}); add a new migration instead of editing it`,
      );
    }
  }
  if (problems.length > 0) {
    throw new ClickHouseSchemaError(`cannot migrate ${database}:\n  - ${problems.join('\n  - ')}`, {
      database,
      problems,
    });
  }
  const done = new Set(applied.map((a) => a.version));
  return migrations
    .filter((m) => !done.has(m.version))
    .map((m) => renderMigration(m, { database, capabilities: current }));
}

/** A failed statement: retriable only when the server was not reached (no `Code: N` answer). */
function wrap(err: unknown, message: string, context: Record<string, unknown>): ClickHouseSchemaError {
  return new ClickHouseSchemaError(`${message}: ${describeClickHouseFailure(err)}`, context, {
    retriable: clickhouseFailure(err).code === undefined,
    cause: err,
  });
}

async function readApplied(client: ClickHouseClient, database: string): Promise<AppliedMigration[]> {
  const exists = await client.query({
    query: `SELECT count() AS n FROM system.tables WHERE database = '${database}' AND name = '${MIGRATIONS_TABLE}'`,
    format: 'JSONEachRow',
  });
  const [row] = await exists.json<{ n: string | number }>();
  if (Number(row?.n ?? 0) === 0) return [];
  const result = await client.query({
    query: `SELECT version, name, checksum, variant, server_version, toString(applied_at) AS applied_at
FROM ${database}.${MIGRATIONS_TABLE} FINAL ORDER BY version`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    version: number | string;
    name: string;
    checksum: string;
    variant: string;
    server_version: string;
    applied_at: string;
  }>();
  return rows.map((r) => ({
    version: Number(r.version),
    name: r.name,
    checksum: r.checksum,
    variant: r.variant as SchemaVariant,
    serverVersion: r.server_version,
    appliedAt: r.applied_at,
  }));
}

/**
 * Brings `database` up to date. `client` must not be bound to a database that may not exist yet
 * (create it with `createClickHouse(config, { database: null })`); every statement is qualified.
 */
export async function migrate(client: ClickHouseClient, options: MigrateOptions): Promise<MigrateResult> {
  const { database, migrations } = options;
  const dryRun = options.dryRun ?? false;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new ClickHouseSchemaError(`invalid database name ${JSON.stringify(database)}`, { database });
  }
  let serverVersion: string;
  try {
    const result = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    const [row] = await result.json<{ v: string }>();
    serverVersion = row?.v ?? '';
  } catch (err) {
    throw wrap(err, 'cannot read the ClickHouse server version', { database });
  }
  const capabilities = capabilitiesFor(parseServerVersion(serverVersion));
  const applied = await readApplied(client, database);
  const pending = planMigrations(migrations, applied, database, capabilities);
  const result: MigrateResult = {
    database,
    serverVersion,
    variant: capabilities.variant,
    dryRun,
    applied: pending,
    alreadyApplied: applied.map((a) => a.version),
  };
  if (dryRun || pending.length === 0) return result;

  try {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await client.command({ query: migrationsTableDdl(database) });
  } catch (err) {
    throw wrap(err, `cannot create ${database}.${MIGRATIONS_TABLE}`, { database });
  }
  for (const m of pending) {
    for (const [index, statement] of m.statements.entries()) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        throw wrap(err, `migration ${m.version} (${m.name}) failed at statement ${index + 1}`, {
          database,
          version: m.version,
          name: m.name,
          statement: index + 1,
        });
      }
    }
    await client.insert({
      table: `${database}.${MIGRATIONS_TABLE}`,
      format: 'JSONEachRow',
      columns: ['version', 'name', 'checksum', 'variant', 'server_version'],
      values: [
        {
          version: m.version,
          name: m.name,
          checksum: m.checksum,
          variant: capabilities.variant,
          server_version: serverVersion,
        },
      ],
    });
  }
  return result;
}
