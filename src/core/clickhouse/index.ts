export {
  type Capabilities,
  capabilitiesFor,
  capabilitiesOfVariant,
  MODERN_MAJOR,
  parseServerVersion,
  SchemaVariant,
  type ServerVersion,
} from './capabilities.ts';
export { type ClickHouseOptions, createClickHouse } from './client.ts';
export { type ClickHouseFailure, clickhouseFailure, describeClickHouseFailure } from './errors.ts';
export {
  type AppliedMigration,
  checkMigrationList,
  MIGRATIONS_TABLE,
  type MigrateOptions,
  type MigrateResult,
  migrate,
  migrationsTableDdl,
  planMigrations,
} from './migrate.ts';
export {
  lowCardinalityString,
  type Migration,
  type RenderContext,
  type RenderedMigration,
  renderMigration,
  sqlString,
  tableSettings,
} from './migration.ts';
export { escapeTsvBytes, escapeTsvText } from './tsv.ts';
