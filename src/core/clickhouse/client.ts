import { type ClickHouseClient, createClient } from '@clickhouse/client';
import type { Config } from '../config/index.ts';

/** Options of {@link createClickHouse}. */
export interface ClickHouseOptions {
  /** Database to use; `null` for none (to create databases). @default config.clickhouse.database */
  database?: string | null;
}

/**
 * A @clickhouse/client for the configured server. Works against ClickHouse 18.16 (the local
 * server) as well as current releases: it sends only settings both understand.
 */
export function createClickHouse(config: Config, options: ClickHouseOptions = {}): ClickHouseClient {
  const database = options.database === undefined ? config.clickhouse.database : options.database;
  return createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    ...(database === null ? {} : { database }),
    request_timeout: 60_000,
    application: 'amoskys',
  });
}
