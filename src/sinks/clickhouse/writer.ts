/**
 * Inserts one encoded batch into one table: the sink's only contact with ClickHouse writes, so
 * that tests and the benchmark use exactly what production uses.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';

/** One insert: the rows of one table, TabSeparated, with the columns they fill. */
export interface InsertBatch {
  /** Table name, unqualified. */
  table: string;
  columns: readonly string[];
  /** TabSeparated rows (see TsvWriter). */
  body: Buffer;
  /** Rows in `body`. */
  rows: number;
  /**
   * Identifies the batch (topic, partition, offsets, table). Sent as `insert_deduplication_token`
   * when the server has it, so a repeated batch is dropped by the server itself.
   */
  token: string;
}

/** Options of {@link createWriter}. */
export interface WriterOptions {
  client: ClickHouseClient;
  database: string;
  /** Whether the server understands `insert_deduplication_token` (ClickHouse 22.2+, not 18.16). */
  deduplicationTokens: boolean;
}

export type Writer = (batch: InsertBatch) => Promise<void>;

export function createWriter(options: WriterOptions): Writer {
  const { client, database, deduplicationTokens } = options;
  return async (batch) => {
    await client.insert({
      table: `${database}.${batch.table}`,
      columns: [...batch.columns] as [string, ...string[]],
      format: 'TabSeparated',
      values: Readable.from([batch.body], { objectMode: false }),
      // Current servers: the token, and a synchronous insert (async inserts are the default from
      // 26.2, and an acknowledged async insert is not yet stored: committing after it could lose it).
      ...(deduplicationTokens
        ? { clickhouse_settings: { insert_deduplication_token: batch.token, async_insert: 0 } }
        : {}),
    });
  };
}

/** A ClickHouse error code from an error's message (`Code: 241. DB::Exception...`); undefined when none. */
export function clickhouseErrorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const match = /Code: (\d+)/.exec(err instanceof Error ? err.message : String(err));
  return match === null ? undefined : Number(match[1]);
}

/**
 * Codes that say the batch itself (or the schema, or the credentials) is wrong: retrying the same
 * insert cannot succeed until someone acts. The sink still retries them (it never drops a batch),
 * but logs them as errors that need a person, not as an outage.
 */
const needsOperator = new Set([
  16, // NO_SUCH_COLUMN_IN_TABLE
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
  164, // READONLY
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  291, // DATABASE_ACCESS_DENIED
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);

/** Whether an insert error needs an operator (see {@link needsOperator}) rather than patience. */
export function insertErrorNeedsOperator(err: unknown): boolean {
  const code = clickhouseErrorCode(err);
  return code !== undefined && needsOperator.has(code);
}
