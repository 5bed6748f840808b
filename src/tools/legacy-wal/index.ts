/**
 * `amoskys import legacy-wal`: import an old SQLite WAL of envelopes into the raw topic.
 * The only import point of src/tools/legacy-wal.
 */
export {
  blake2b,
  ChecksumAlgorithm,
  type ChecksumResult,
  digest,
  storedDigest,
  verifyChecksum,
} from './checksum.ts';
export {
  type ClassifiedRow,
  type ClassifyContext,
  classifyRow,
  type ImportCounts,
  ImportFlag,
  ImportHeader,
  type ImportMessage,
  type ImportOptions,
  type ImportProgress,
  type ImportSink,
  importRows,
  type ReportedRow,
  type RowRejection,
} from './import.ts';
export {
  type ColumnMap,
  type ColumnRole,
  chooseTable,
  columnCandidates,
  DEFAULT_TABLE,
  parseColumnOverrides,
  resolveColumns,
} from './table.ts';
export { type OpenedWal, type OpenWalOptions, openWal, type WalRow } from './wal-reader.ts';
