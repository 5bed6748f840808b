/**
 * Builds a legacy WAL the way the earlier system's writer did: SQLite in journal_mode=WAL, table
 * `wal(id, idem, ts_ns, bytes, checksum, sig, prev_sig)`. The writer connection stays open with
 * automatic checkpoints off, so the rows live in the `-wal` journal and not yet in the database
 * file: an import must read them through SQLite, as it would from a running legacy agent.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { blake2b } from '../../../../src/tools/legacy-wal/index.ts';

/** One row to write. */
export interface WalRowSpec {
  key: string;
  tsNs: bigint;
  bytes: Uint8Array;
  /** As stored: raw digest bytes (BLOB) or hex text. */
  checksum: Uint8Array | string;
}

/** A built WAL: the database file, its journal, and the still-open writer. */
export interface BuiltWal {
  file: string;
  /** Size of the `-wal` journal, bytes (0 if it does not exist). */
  journalBytes(): number;
  /** Closes the writer (SQLite then checkpoints and removes the journal). */
  close(): void;
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
export const blake2b256 = (bytes: Uint8Array) => blake2b(bytes, 32);

/** Writes the rows into a new WAL database in a temporary folder. */
export function buildWal(rows: readonly WalRowSpec[], options: { table?: string } = {}): BuiltWal {
  const table = options.table ?? 'wal';
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-wal-')), 'wal.db');
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode=WAL;
    PRAGMA synchronous=FULL;
    PRAGMA wal_autocheckpoint=0;
    CREATE TABLE ${table} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      idem TEXT NOT NULL,
      ts_ns INTEGER NOT NULL,
      bytes BLOB NOT NULL,
      checksum BLOB NOT NULL,
      sig BLOB,
      prev_sig BLOB
    );
    CREATE UNIQUE INDEX ${table}_idem ON ${table}(idem);
  `);
  const insert = db.prepare(`INSERT INTO ${table} (idem, ts_ns, bytes, checksum) VALUES (?, ?, ?, ?)`);
  for (const row of rows) insert.run(row.key, row.tsNs, row.bytes, row.checksum);
  return {
    file,
    journalBytes: () => {
      try {
        return statSync(`${file}-wal`).size;
      } catch {
        return 0;
      }
    },
    close: () => db.close(),
  };
}
