/**
 * The shape of a ClickHouse migration and how it is rendered. Migrations live in
 * schemas/clickhouse as numbered TypeScript modules: they are templates over two inputs only, the
 * database name and the server's {@link Capabilities}, and render to plain DDL statements. The
 * checksum is taken over the rendered SQL, so what is recorded is exactly what ran.
 */
import { createHash } from 'node:crypto';
import type { Capabilities } from './capabilities.ts';

/** Inputs of a rendering. */
export interface RenderContext {
  /** Database that holds the tables; every statement names it explicitly. */
  database: string;
  capabilities: Capabilities;
}

/** One numbered migration. */
export interface Migration {
  /** Applied in ascending order; never reused. Matches the file name prefix. */
  readonly version: number;
  /** snake_case, matches the file name after the prefix. */
  readonly name: string;
  /**
   * The DDL statements for a capability set, each without a trailing semicolon. Must be pure:
   * the same context renders the same statements, or an applied migration looks changed.
   * May render none (e.g. access control on a server without RBAC): it is still recorded.
   */
  render(context: RenderContext): readonly string[];
}

/** A migration rendered for one context. */
export interface RenderedMigration {
  version: number;
  name: string;
  statements: readonly string[];
  /** sha256 hex of the statements joined by `;\n`: what `schema_migrations.checksum` holds. */
  checksum: string;
}

/** Renders a migration and checksums the result. */
export function renderMigration(migration: Migration, context: RenderContext): RenderedMigration {
  const statements = migration.render(context).map((s) => s.trim());
  const checksum = createHash('sha256').update(statements.join(';\n')).digest('hex');
  return { version: migration.version, name: migration.name, statements, checksum };
}

/** A ClickHouse string literal: single quotes, backslash and quote escaped. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `LowCardinality(String)` where the server has it without settings, else `String`. */
export function lowCardinalityString(capabilities: Capabilities): string {
  return capabilities.modern ? 'LowCardinality(String)' : 'String';
}

/**
 * The SETTINGS clause of every AMOSKYS MergeTree table. On modern servers it keeps a
 * deduplication window, without which `insert_deduplication_token` does nothing on
 * non-replicated tables; 18.16 has neither and relies on ReplacingMergeTree alone.
 */
export function tableSettings(capabilities: Capabilities): string {
  return capabilities.modern
    ? 'SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 10000'
    : 'SETTINGS index_granularity = 8192';
}
