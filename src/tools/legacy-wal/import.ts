/**
 * `amoskys import legacy-wal`: puts the envelopes of an old SQLite WAL onto the raw topic.
 *
 * Consumes: rows of a legacy WAL (wal-reader.ts), in rowid order.
 * Produces: the raw topic (config `topics.raw`), key = device id, value = the row's envelope bytes
 *   unchanged as the protobuf payload of a Confluent frame (schema id of `<topic>-value`, message
 *   indexes of UniversalEnvelope): the original, signature and all, so the processor checks what
 *   the legacy agent signed. Headers say where each message came from and what is odd about it
 *   ({@link ImportHeader}, {@link ImportFlag}).
 * Checks: every row's checksum is verified first (checksum.ts); a row that fails is not imported
 *   and is listed in the report. Nothing is re-encoded and nothing is dropped for its content:
 *   wrappers without metrics and undecodable envelopes are imported and flagged, so the processor
 *   dead-letters them with a reason instead of the import hiding them.
 * Delivery: at least once, through the batching idempotent producer. A second import of the same
 *   file puts the rows on the topic again; the processor deduplicates on the idempotency key
 *   within its deduplication window (docs/operations.md).
 */

import type { TrustSnapshot } from '../../core/crypto/index.ts';
import { frame } from '../../core/registry/index.ts';
import { checkSignature, inspectEnvelope, type SignatureStatus } from '../inspect/index.ts';
import { type ChecksumAlgorithm, verifyChecksum } from './checksum.ts';
import type { WalRow } from './wal-reader.ts';

/** Flags an imported message may carry (header `amoskys.import.flags`, comma-separated). */
export const ImportFlag = {
  /**
   * No metric events and no failed-poll status explaining their absence: a wrapper that carries
   * no measurement (legacy FlowEvent/ProcessEvent only, a heartbeat, an empty envelope).
   */
  NoMetrics: 'no_metrics',
  /** Holds legacy FlowEvent or ProcessEvent events. */
  LegacyEvents: 'legacy_events',
  /** No device_telemetry payload. */
  NoPayload: 'no_payload',
  /** Events of a type this reader does not know. */
  UnknownEvents: 'unknown_events',
  /** Fields this reader does not know (kept in the bytes). */
  UnknownFields: 'unknown_fields',
  /** The bytes do not decode as a UniversalEnvelope (imported as they are; the processor will say why). */
  Undecodable: 'undecodable',
  /** The row's key column differs from the envelope's idempotency_key. */
  KeyMismatch: 'key_mismatch',
  /** The row's ts_ns column differs from the envelope's ts_ns. */
  TsMismatch: 'ts_mismatch',
  /** The envelope names no device; the record key falls back to the row key's device part. */
  NoDeviceId: 'no_device_id',
} as const;
export type ImportFlag = (typeof ImportFlag)[keyof typeof ImportFlag];

/** Headers on every imported message (values UTF-8). */
export const ImportHeader = {
  /** Always `legacy-wal`. */
  Source: 'amoskys.import.source',
  /** Base name of the WAL file. */
  File: 'amoskys.import.file',
  /** rowid of the WAL row. */
  Row: 'amoskys.import.row',
  /** Comma-separated {@link ImportFlag}s; empty when there are none. */
  Flags: 'amoskys.import.flags',
  /** Algorithm the row's checksum was verified with. */
  Checksum: 'amoskys.import.checksum',
} as const;

/** Why a row is not imported. */
export type RowRejection = 'bad_checksum' | 'missing_checksum' | 'unrecognised_checksum' | 'no_bytes';

/** A row after checks: what would be produced, or why not. */
export type ClassifiedRow =
  | {
      ok: true;
      rowId: bigint;
      walKey: string | null;
      algorithm: ChecksumAlgorithm;
      /** The Kafka record key. */
      deviceId: string;
      flags: ImportFlag[];
      /** `undecodable` when the bytes are not an envelope at all. */
      signature: SignatureStatus | 'undecodable';
      bytes: Uint8Array;
    }
  | { ok: false; rowId: bigint; walKey: string | null; reason: RowRejection; detail: string };

/** What classification needs besides the row. */
export interface ClassifyContext {
  trust: TrustSnapshot;
  /** ms since the epoch, for trust warnings. */
  nowMs: number;
  /** @default 'auto' */
  algorithm?: ChecksumAlgorithm | 'auto';
}

/** The device part of `<device>/<interval_s>/<slot>`, else the whole key. */
function devicePart(key: string): string {
  const match = /^(.*)\/\d+\/\d+$/.exec(key);
  return match === null ? key : (match[1] as string);
}

/** Checks one row and works out its key, flags and signature status. Pure. */
export function classifyRow(row: WalRow, ctx: ClassifyContext): ClassifiedRow {
  const base = { rowId: row.rowId, walKey: row.key };
  if (row.bytes === null) {
    return { ok: false, ...base, reason: 'no_bytes', detail: row.bytesProblem ?? 'no envelope bytes' };
  }
  const checked = verifyChecksum(row.bytes, row.checksum, ctx.algorithm ?? 'auto');
  if (!checked.ok) {
    const reason: RowRejection =
      checked.reason === 'mismatch'
        ? 'bad_checksum'
        : checked.reason === 'missing'
          ? 'missing_checksum'
          : 'unrecognised_checksum';
    return { ok: false, ...base, reason, detail: checked.detail };
  }
  const flags: ImportFlag[] = [];
  let deviceId: string | undefined;
  let signature: SignatureStatus | 'undecodable';
  const inspected = inspectEnvelope(row.bytes, ctx.trust, ctx.nowMs);
  if (inspected.ok) {
    const { envelope } = inspected;
    flags.push(...envelope.flags);
    signature = envelope.signature.status;
    if (envelope.device !== undefined && envelope.device.id !== '') deviceId = envelope.device.id;
    if (row.key !== null && row.key !== envelope.header.idempotencyKey) flags.push(ImportFlag.KeyMismatch);
    if (row.tsNs !== null && row.tsNs !== envelope.header.tsNs) flags.push(ImportFlag.TsMismatch);
  } else {
    flags.push(ImportFlag.Undecodable);
    // The signature field can still be found on the wire; say whether it is there.
    const status = checkSignature(row.bytes, ctx.trust, { nowMs: ctx.nowMs }).status;
    signature = status === 'malformed' ? 'undecodable' : status;
  }
  if (deviceId === undefined) {
    flags.push(ImportFlag.NoDeviceId);
    deviceId = devicePart(row.key ?? '');
  }
  return { ok: true, ...base, algorithm: checked.algorithm, deviceId, flags, signature, bytes: row.bytes };
}

/** A message for the raw topic. */
export interface ImportMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** Where imported messages go (a BatchProducer on the raw topic in the CLI; a list in tests). */
export interface ImportSink {
  /** Resolves when there is room for another message (backpressure). */
  ready(): Promise<void>;
  /** Resolves when Kafka acknowledged the message; rejects if it could not be delivered. */
  send(message: ImportMessage): Promise<void>;
  /** Resolves when everything sent so far was acknowledged or rejected. */
  flush(): Promise<void>;
}

/** Progress of an import, for people. */
export interface ImportProgress {
  rowsRead: number;
  totalRows: number;
  checksumOk: number;
  checksumBad: number;
  imported: number;
  flagged: number;
  /** Rows read per second so far. */
  rowsPerSecond: number;
}

/** Options of {@link importRows}. */
export interface ImportOptions extends ClassifyContext {
  rows: Iterable<WalRow>;
  /** Rows in the table, for progress. */
  totalRows: number;
  /** Base name of the WAL file, for the header. */
  fileName: string;
  /** Schema id of the raw topic's value subject. */
  schemaId: number;
  /** Message indexes of UniversalEnvelope in the schema. */
  messageIndexes: readonly number[];
  /** Where messages go; undefined for a dry run (rows are only checked). */
  sink: ImportSink | undefined;
  onProgress?: (progress: ImportProgress) => void;
  /** Report progress after this many rows... @default 10_000 */
  progressEveryRows?: number;
  /** ...or after this long, whichever comes first, ms. @default 2000 */
  progressIntervalMs?: number;
  /** Rows listed per list in the report (counts stay exact). @default 1000 */
  maxListed?: number;
}

/** One listed row of the report. */
export interface ReportedRow {
  rowId: bigint;
  key: string | null;
  detail: string;
}

/** What an import did. */
export interface ImportCounts {
  dryRun: boolean;
  rows: number;
  checksumOk: number;
  /** Rows not imported because of their checksum or bytes (see `rejected`). */
  checksumBad: number;
  /** Messages Kafka acknowledged (0 in a dry run). */
  imported: number;
  /** Messages Kafka did not acknowledge before the producer's deadline. */
  failed: number;
  /** Imported (or, in a dry run, importable) rows with at least one flag. */
  flagged: number;
  /** Rows per checksum algorithm that verified them. */
  algorithms: Record<string, number>;
  /** Rows per flag. */
  flags: Record<string, number>;
  /** Rows per signature status against the trust store. */
  signatures: Record<string, number>;
  /** Rows not imported, with the reason (`bad_checksum: ...`). */
  rejected: ReportedRow[];
  /** Flagged rows, with their flags. */
  flaggedRows: (ReportedRow & { deviceId: string; flags: ImportFlag[] })[];
  /** Rows whose message Kafka did not acknowledge. */
  failedRows: ReportedRow[];
  /** How many rows each list holds at most. */
  listLimit: number;
  durationMs: number;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/**
 * Checks every row and, unless it is a dry run, produces the good ones (see the module comment).
 * Waits for every acknowledgement before it returns.
 */
export async function importRows(options: ImportOptions): Promise<ImportCounts> {
  const started = Date.now();
  const maxListed = options.maxListed ?? 1000;
  const everyRows = options.progressEveryRows ?? 10_000;
  const intervalMs = options.progressIntervalMs ?? 2000;
  const counts: ImportCounts = {
    dryRun: options.sink === undefined,
    rows: 0,
    checksumOk: 0,
    checksumBad: 0,
    imported: 0,
    failed: 0,
    flagged: 0,
    algorithms: {},
    flags: {},
    signatures: {},
    rejected: [],
    flaggedRows: [],
    failedRows: [],
    listLimit: maxListed,
    durationMs: 0,
  };
  const list = <T>(target: T[], item: T) => {
    if (target.length < maxListed) target.push(item);
  };
  let lastProgress = Date.now();
  const progress = () => {
    lastProgress = Date.now();
    const seconds = (Date.now() - started) / 1000;
    options.onProgress?.({
      rowsRead: counts.rows,
      totalRows: options.totalRows,
      checksumOk: counts.checksumOk,
      checksumBad: counts.checksumBad,
      imported: counts.imported,
      flagged: counts.flagged,
      rowsPerSecond: seconds > 0 ? Math.round(counts.rows / seconds) : counts.rows,
    });
  };
  const fileName = options.fileName;
  const inFlight = new Set<Promise<void>>();

  for (const row of options.rows) {
    counts.rows++;
    const classified = classifyRow(row, options);
    if (!classified.ok) {
      counts.checksumBad++;
      list(counts.rejected, {
        rowId: row.rowId,
        key: row.key,
        detail: `${classified.reason}: ${classified.detail}`,
      });
    } else {
      counts.checksumOk++;
      bump(counts.algorithms, classified.algorithm);
      bump(counts.signatures, classified.signature);
      for (const flag of classified.flags) bump(counts.flags, flag);
      if (classified.flags.length > 0) {
        counts.flagged++;
        list(counts.flaggedRows, {
          rowId: row.rowId,
          key: row.key,
          deviceId: classified.deviceId,
          flags: classified.flags,
          detail: classified.flags.join(','),
        });
      }
      const sink = options.sink;
      if (sink !== undefined) {
        const framed = frame(options.schemaId, options.messageIndexes, classified.bytes);
        const message: ImportMessage = {
          key: classified.deviceId,
          // A view, not a copy: the framed bytes belong to this message alone.
          value: Buffer.from(framed.buffer, framed.byteOffset, framed.byteLength),
          headers: {
            [ImportHeader.Source]: 'legacy-wal',
            [ImportHeader.File]: fileName,
            [ImportHeader.Row]: row.rowId.toString(),
            [ImportHeader.Flags]: classified.flags.join(','),
            [ImportHeader.Checksum]: classified.algorithm,
          },
        };
        // Wait for room, not for the acknowledgement: acks arrive per batch.
        await sink.ready();
        const delivered: Promise<void> = sink.send(message).then(
          () => {
            counts.imported++;
          },
          (err: unknown) => {
            counts.failed++;
            list(counts.failedRows, {
              rowId: row.rowId,
              key: row.key,
              detail: err instanceof Error ? err.message : String(err),
            });
          },
        );
        inFlight.add(delivered);
        void delivered.finally(() => inFlight.delete(delivered));
      }
    }
    if (counts.rows % everyRows === 0 || Date.now() - lastProgress >= intervalMs) progress();
  }
  await options.sink?.flush();
  await Promise.all(inFlight);
  counts.durationMs = Date.now() - started;
  progress();
  return counts;
}
