/**
 * Migration 3: least-privilege roles, where the server has RBAC (modern only).
 *
 * Modern servers get two roles per database: `<db>_sink` may INSERT into the four tables (and
 * SELECT, to count what it wrote) and nothing else; `<db>_analyst` may SELECT the database. Users
 * and passwords are not created here, so no secret ever sits in a migration or its checksum: an
 * operator runs `CREATE USER ... IDENTIFIED BY ... DEFAULT ROLE <db>_sink` (docs/analysts.md).
 * The migrating user needs access management (compose sets CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT).
 *
 * ClickHouse 18.16 has no CREATE USER/ROLE/GRANT: this migration renders no statements there and
 * is only recorded; users come from users.d XML (infra/local/clickhouse/users.d/).
 */
import type { Migration } from '../../src/core/clickhouse/migration.ts';

/** Tables the sink writes. */
export const SINK_TABLES = ['raw_envelopes', 'metrics', 'features', 'dlq'] as const;

export const migration: Migration = {
  version: 3,
  name: 'access',
  render({ database: db, capabilities }) {
    if (!capabilities.modern) return [];
    return [
      `CREATE ROLE IF NOT EXISTS ${db}_sink`,
      `CREATE ROLE IF NOT EXISTS ${db}_analyst`,
      ...SINK_TABLES.map((t) => `GRANT INSERT, SELECT ON ${db}.${t} TO ${db}_sink`),
      `GRANT SELECT ON ${db}.* TO ${db}_analyst`,
    ];
  },
};
