/**
 * A migrated ClickHouse database of its own for one test: `<run database>_<random>`, made with the
 * project's migrations (`amoskys clickhouse migrate`), dropped when the test finishes unless
 * AMOSKYS_TEST_KEEP_DATABASE=1.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TestContext } from 'vitest';
import { migrations } from '../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate } from '../../src/core/clickhouse/index.ts';
import type { Config } from '../../src/core/config/index.ts';

export interface TestDatabase {
  /** `config` with `clickhouse.database` set to the new database. */
  config: Config;
  /** A client bound to the new database. */
  client: ClickHouseClient;
  /** Rows of a query, JSONEachRow. */
  rows<T>(query: string): Promise<T[]>;
}

/** Creates and migrates a database for one test. */
export async function testDatabase(ctx: TestContext, base: Config): Promise<TestDatabase> {
  const database = `${base.clickhouse.database}_${randomBytes(3).toString('hex')}`;
  const config: Config = { ...base, clickhouse: { ...base.clickhouse, database } };
  const admin = createClickHouse(config, { database: null });
  await migrate(admin, { database, migrations });
  const client = createClickHouse(config);
  ctx.onTestFinished(async () => {
    await client.close();
    if (process.env.AMOSKYS_TEST_KEEP_DATABASE !== '1') {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    }
    await admin.close();
  });
  return {
    config,
    client,
    rows: async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>(),
  };
}
