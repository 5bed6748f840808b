/**
 * Reads a legacy WAL: an SQLite database (usually journal_mode=WAL) with a table of idempotency
 * key, ts_ns, envelope bytes and checksum (table.ts). Uses node:sqlite, read-only: the file is
 * never changed, and rows committed to its -wal journal but not yet checkpointed are read too
 * (SQLite merges the journal into what a reader sees).
 *
 * Rows are streamed in rowid order (insertion order for the legacy writer), 64-bit integers as
 * bigint (ts_ns exceeds 2^53).
 */
import { existsSync, statSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { InputError } from '../../core/errors/index.ts';
import { type ColumnMap, chooseTable } from './table.ts';

/** One row of the WAL table, as stored. */
export interface WalRow {
  /** SQLite rowid (the legacy `id`); the ordinal position for a WITHOUT ROWID table. */
  rowId: bigint;
  key: string | null;
  tsNs: bigint | null;
  /** Null when the cell is NULL or not a BLOB (a TEXT cell cannot hold protobuf bytes intact). */
  bytes: Uint8Array | null;
  /** What the bytes cell held when it was not a BLOB, for the report. */
  bytesProblem: string | undefined;
  /** The checksum cell as stored (BLOB or TEXT). */
  checksum: unknown;
}

/** An opened WAL. */
export interface OpenedWal {
  file: string;
  /** `wal`, `delete`, ... as SQLite reports it. */
  journalMode: string;
  table: string;
  columns: ColumnMap;
  /** Rows in the table when it was opened. */
  rowCount: number;
  /** Streams the rows in rowid order. */
  rows(): Iterable<WalRow>;
  close(): void;
}

/** Options of {@link openWal}. */
export interface OpenWalOptions {
  /** @default `wal`, else the only table that has the four columns */
  table?: string;
  /** Column names by role, where the defaults do not fit. */
  columns?: Partial<ColumnMap>;
}

const quoteId = (name: string) => `"${name.replace(/"/g, '""')}"`;

function utf8(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

function bigintOf(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return BigInt(value.trim());
  return null;
}

/**
 * Opens a WAL database read-only and finds its table and columns.
 * @throws InputError when the file is missing, is a journal rather than the database, is not
 *   SQLite, or holds no table of the expected shape
 */
export function openWal(file: string, options: OpenWalOptions = {}): OpenedWal {
  if (!existsSync(file)) throw new InputError(`${file} does not exist`, { file });
  const journal = /^(.*)-(wal|shm|journal)$/.exec(file);
  if (journal !== null && existsSync(journal[1] as string)) {
    throw new InputError(
      `${file} is SQLite's ${journal[2]} file, not the database; import ${journal[1]} (SQLite reads its journal along with it)`,
      { file },
    );
  }
  if (!statSync(file).isFile()) throw new InputError(`${file} is not a file`, { file });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { readOnly: true });
  } catch (err) {
    throw new InputError(`cannot open ${file} with SQLite: ${(err as Error).message}`, { file }, err);
  }
  try {
    let tables: { name: string; columns: string[] }[];
    let journalMode: string;
    try {
      const names = db
        .prepare(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .all()
        .map((r) => String(r.name));
      tables = names.map((name) => ({
        name,
        columns: db
          .prepare(`PRAGMA table_info(${quoteId(name)})`)
          .all()
          .map((c) => String(c.name)),
      }));
      journalMode = String(db.prepare('PRAGMA journal_mode').get()?.journal_mode ?? 'unknown');
    } catch (err) {
      throw new InputError(
        `${file} is not a readable SQLite database: ${(err as Error).message}`,
        { file },
        err,
      );
    }
    const { table, columns } = chooseTable(tables, options.table, options.columns);
    const count = Number(db.prepare(`SELECT count(*) AS n FROM ${quoteId(table)}`).get()?.n ?? 0);
    const select = [columns.key, columns.ts, columns.bytes, columns.checksum].map(quoteId).join(', ');
    let statement: StatementSync;
    let withRowId = true;
    try {
      statement = db.prepare(`SELECT rowid AS "__rowid", ${select} FROM ${quoteId(table)} ORDER BY rowid`);
    } catch {
      // A WITHOUT ROWID table: no insertion order to follow; the key orders it deterministically.
      withRowId = false;
      statement = db.prepare(`SELECT ${select} FROM ${quoteId(table)} ORDER BY ${quoteId(columns.key)}`);
    }
    statement.setReadBigInts(true);
    return {
      file,
      journalMode,
      table,
      columns,
      rowCount: count,
      *rows() {
        let ordinal = 0n;
        for (const row of statement.iterate()) {
          ordinal++;
          const raw = row[columns.bytes];
          let bytes: Uint8Array | null = null;
          let bytesProblem: string | undefined;
          if (raw instanceof Uint8Array) bytes = raw;
          else if (raw === null || raw === undefined) bytesProblem = 'the envelope bytes are NULL';
          else
            bytesProblem = `the envelope bytes are stored as ${typeof raw === 'string' ? 'TEXT' : typeof raw}, not a BLOB`;
          yield {
            rowId: withRowId ? (bigintOf(row.__rowid) ?? ordinal) : ordinal,
            key: utf8(row[columns.key]),
            tsNs: bigintOf(row[columns.ts]),
            bytes,
            bytesProblem,
            checksum: row[columns.checksum],
          };
        }
      },
      close: () => db.close(),
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
