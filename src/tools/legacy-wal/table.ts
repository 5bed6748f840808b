/**
 * The shape of a legacy WAL table, and how its columns are found. Pure.
 *
 * Expected (the earlier system's writer; extra columns such as `id`, `sig`, `prev_sig` are ignored):
 *
 *   CREATE TABLE wal (
 *     id INTEGER PRIMARY KEY AUTOINCREMENT,
 *     idem TEXT NOT NULL,          -- idempotency key
 *     ts_ns INTEGER NOT NULL,      -- envelope time, ns since the epoch
 *     bytes BLOB NOT NULL,         -- the serialized UniversalEnvelope, as signed
 *     checksum BLOB NOT NULL       -- digest of `bytes` (see checksum.ts)
 *   );
 *
 * Each role accepts a few spellings (below); `--columns role=name,...` names them outright.
 */
import { InputError } from '../../core/errors/index.ts';

/** The four columns an import reads. */
export type ColumnRole = 'key' | 'ts' | 'bytes' | 'checksum';

/** Column names per role, as found or given. */
export type ColumnMap = Record<ColumnRole, string>;

/** Accepted spellings of each role, most specific first. */
export const columnCandidates: Readonly<Record<ColumnRole, readonly string[]>> = {
  key: ['idempotency_key', 'idem', 'idem_key', 'idempotency', 'key'],
  ts: ['ts_ns', 'timestamp_ns', 'time_ns', 'ts'],
  bytes: ['envelope_bytes', 'envelope', 'bytes', 'env', 'payload', 'data'],
  checksum: ['checksum', 'sha256', 'digest', 'hash'],
};

/** The table name tried first. */
export const DEFAULT_TABLE = 'wal';

const roles: readonly ColumnRole[] = ['key', 'ts', 'bytes', 'checksum'];

/**
 * Parses `role=column,...` (e.g. `key=idem,bytes=payload`).
 * @throws InputError for an unknown role or a malformed pair
 */
export function parseColumnOverrides(text: string): Partial<ColumnMap> {
  const out: Partial<ColumnMap> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([a-z]+)=(.+)$/.exec(pair);
    if (match === null || !(roles as readonly string[]).includes(match[1] as string)) {
      throw new InputError(
        `--columns takes role=column pairs with roles ${roles.join(', ')}; got ${JSON.stringify(pair)}`,
      );
    }
    out[match[1] as ColumnRole] = match[2] as string;
  }
  return out;
}

/**
 * The column of each role in a table with the given columns (case-insensitive).
 * @throws InputError naming the roles that could not be found, and the table's columns
 */
export function resolveColumns(
  table: string,
  columns: readonly string[],
  overrides: Partial<ColumnMap> = {},
): ColumnMap {
  const byLower = new Map(columns.map((c) => [c.toLowerCase(), c]));
  const found: Partial<ColumnMap> = {};
  const missing: string[] = [];
  for (const role of roles) {
    const wanted = overrides[role];
    if (wanted !== undefined) {
      const column = byLower.get(wanted.toLowerCase());
      if (column === undefined) missing.push(`${role} (column ${wanted} given)`);
      else found[role] = column;
      continue;
    }
    const column = columnCandidates[role].map((c) => byLower.get(c)).find((c) => c !== undefined);
    if (column === undefined) missing.push(`${role} (one of ${columnCandidates[role].join(', ')})`);
    else found[role] = column;
  }
  if (missing.length > 0) {
    throw new InputError(
      `table ${table} has no column for ${missing.join('; ')}; its columns are ${columns.join(', ')}. ` +
        'Name them with --columns key=...,ts=...,bytes=...,checksum=...',
      { table },
    );
  }
  return found as ColumnMap;
}

/**
 * The table to import: the one given, else `wal`, else the only table with a column for every role.
 * @param tables each table with its column names
 * @throws InputError when none or several tables qualify
 */
export function chooseTable(
  tables: readonly { name: string; columns: readonly string[] }[],
  given: string | undefined,
  overrides: Partial<ColumnMap> = {},
): { table: string; columns: ColumnMap } {
  const names = tables.map((t) => t.name);
  if (given !== undefined) {
    const table = tables.find((t) => t.name === given);
    if (table === undefined) {
      throw new InputError(`the file has no table ${given}; it has ${names.join(', ') || 'no tables'}`, {
        table: given,
      });
    }
    return { table: table.name, columns: resolveColumns(table.name, table.columns, overrides) };
  }
  const wal = tables.find((t) => t.name.toLowerCase() === DEFAULT_TABLE);
  if (wal !== undefined)
    return { table: wal.name, columns: resolveColumns(wal.name, wal.columns, overrides) };
  const fitting = tables.flatMap((t) => {
    try {
      return [{ table: t.name, columns: resolveColumns(t.name, t.columns, overrides) }];
    } catch {
      return [];
    }
  });
  if (fitting.length === 1) return fitting[0] as { table: string; columns: ColumnMap };
  throw new InputError(
    fitting.length === 0
      ? `no table has the columns of a WAL (key, ts_ns, envelope bytes, checksum); tables: ${names.join(', ') || 'none'}`
      : `several tables look like a WAL (${fitting.map((f) => f.table).join(', ')}); choose one with --table`,
  );
}
