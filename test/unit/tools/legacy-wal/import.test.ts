/**
 * Reading a legacy WAL (node:sqlite, a temporary file, rows still in the -wal journal) and the
 * import logic against a sink that records what it was given: checksums verified, originals kept
 * byte for byte inside the frame, wrappers flagged, bad rows listed and not produced.
 */
import { writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../../../src/core/envelope/index.ts';
import { InputError } from '../../../../src/core/errors/index.ts';
import { unframe } from '../../../../src/core/registry/index.ts';
import {
  classifyRow,
  ImportFlag,
  ImportHeader,
  type ImportMessage,
  type ImportSink,
  importRows,
  openWal,
  type WalRow,
} from '../../../../src/tools/legacy-wal/index.ts';
import { envelopeFixture, fixtureTrust } from '../inspect/helpers.ts';
import { type BuiltWal, blake2b256, buildWal, sha256Hex } from './wal-file.ts';

const ok = envelopeFixture('snmp-ok');
const unreachable = envelopeFixture('snmp-unreachable');
const legacy = envelopeFixture('legacy-flow-process');
const junk = new TextEncoder().encode('not protobuf at all');
const tsOk = 1_795_946_402_400_000_000n;

const built: BuiltWal[] = [];
afterEach(() => {
  for (const wal of built.splice(0)) wal.close();
});

function walOf(...rows: Parameters<typeof buildWal>[0]): BuiltWal {
  const wal = buildWal(rows);
  built.push(wal);
  return wal;
}

const standardRows = () => [
  { key: 'router-1/60/29932440', tsNs: tsOk, bytes: ok, checksum: sha256Hex(ok) },
  { key: 'switch-7/unit-2/300/5986488', tsNs: tsOk, bytes: unreachable, checksum: blake2b256(unreachable) },
  { key: 'bad/60/1', tsNs: 1n, bytes: ok, checksum: sha256Hex(legacy) },
  { key: 'legacy-host-3/60/29932441', tsNs: tsOk, bytes: legacy, checksum: blake2b256(legacy) },
  { key: 'junk-host/60/7', tsNs: 7n, bytes: junk, checksum: sha256Hex(junk) },
];

class RecordingSink implements ImportSink {
  readonly sent: ImportMessage[] = [];
  readonly #fail: (m: ImportMessage) => boolean;
  constructor(fail: (m: ImportMessage) => boolean = () => false) {
    this.#fail = fail;
  }
  async ready(): Promise<void> {}
  send(message: ImportMessage): Promise<void> {
    this.sent.push(message);
    return this.#fail(message) ? Promise.reject(new Error('broker said no')) : Promise.resolve();
  }
  async flush(): Promise<void> {}
}

const importOptions = (rows: Iterable<WalRow>, sink: ImportSink | undefined) => ({
  rows,
  totalRows: 5,
  fileName: 'wal.db',
  schemaId: 11,
  messageIndexes: envelopeSchema.messageIndexes,
  sink,
  trust: fixtureTrust(['router-1', 'legacy-host-3']),
  nowMs: Date.UTC(2026, 10, 29, 12),
});

describe('openWal', () => {
  it('reads rows that are still in the -wal journal, in rowid order, ts_ns exact', () => {
    const wal = walOf(...standardRows());
    expect(wal.journalBytes()).toBeGreaterThan(0);
    const opened = openWal(wal.file);
    try {
      expect(opened).toMatchObject({ table: 'wal', journalMode: 'wal', rowCount: 5 });
      expect(opened.columns).toEqual({ key: 'idem', ts: 'ts_ns', bytes: 'bytes', checksum: 'checksum' });
      const rows = [...opened.rows()];
      expect(rows.map((r) => r.rowId)).toEqual([1n, 2n, 3n, 4n, 5n]);
      expect(rows[0]?.tsNs).toBe(tsOk);
      expect(Buffer.from(rows[3]?.bytes ?? []).equals(Buffer.from(legacy))).toBe(true);
    } finally {
      opened.close();
    }
    // Read-only: the journal was not checkpointed into the database by the import.
    expect(wal.journalBytes()).toBeGreaterThan(0);
  });

  it('says what is wrong with the file it was given', () => {
    const wal = walOf(...standardRows());
    expect(() => openWal(`${wal.file}-wal`)).toThrow(
      /is SQLite's wal file, not the database; import .*wal\.db/,
    );
    expect(() => openWal(`${wal.file}.missing`)).toThrow(InputError);
    const text = `${wal.file}.txt`;
    writeFileSync(text, 'hello, not a database');
    expect(() => openWal(text)).toThrow(/is not a readable SQLite database|cannot open/);
  });

  it('reports envelope bytes stored as TEXT instead of passing them on', () => {
    const wal = walOf();
    const db = new DatabaseSync(wal.file);
    db.prepare('INSERT INTO wal (idem, ts_ns, bytes, checksum) VALUES (?, ?, ?, ?)').run(
      'k/60/1',
      1n,
      'text',
      'x',
    );
    db.close();
    const opened = openWal(wal.file);
    try {
      const [row] = [...opened.rows()];
      expect(row).toMatchObject({
        bytes: null,
        bytesProblem: 'the envelope bytes are stored as TEXT, not a BLOB',
      });
    } finally {
      opened.close();
    }
  });
});

describe('classifyRow', () => {
  const ctx = { trust: fixtureTrust(['router-1', 'legacy-host-3']), nowMs: Date.UTC(2026, 10, 29, 12) };
  const row = (
    bytes: Uint8Array | null,
    checksum: unknown,
    key = 'router-1/60/29932440',
    tsNs = tsOk,
  ): WalRow => ({
    rowId: 1n,
    key,
    tsNs,
    bytes,
    bytesProblem: bytes === null ? 'the envelope bytes are NULL' : undefined,
    checksum,
  });

  it('keys a good envelope by its device and flags nothing', () => {
    expect(classifyRow(row(ok, sha256Hex(ok)), ctx)).toMatchObject({
      ok: true,
      algorithm: 'sha256',
      deviceId: 'router-1',
      flags: [],
      signature: 'verified',
    });
  });

  it('flags a legacy wrapper without metrics, and mismatches between the row and its envelope', () => {
    expect(classifyRow(row(legacy, blake2b256(legacy), 'legacy-host-3/60/29932441'), ctx)).toMatchObject({
      ok: true,
      algorithm: 'blake2b-256',
      deviceId: 'legacy-host-3',
      flags: [ImportFlag.NoMetrics, ImportFlag.LegacyEvents],
    });
    expect(classifyRow(row(ok, sha256Hex(ok), 'other/60/1', 5n), ctx)).toMatchObject({
      flags: [ImportFlag.KeyMismatch, ImportFlag.TsMismatch],
    });
  });

  it('imports undecodable bytes as they are, keyed by the row key’s device part', () => {
    expect(classifyRow(row(junk, sha256Hex(junk), 'junk-host/60/7'), ctx)).toMatchObject({
      ok: true,
      deviceId: 'junk-host',
      flags: [ImportFlag.Undecodable, ImportFlag.NoDeviceId],
      signature: 'undecodable',
    });
  });

  it('rejects a row whose checksum does not match, is missing or has no bytes', () => {
    expect(classifyRow(row(ok, sha256Hex(legacy)), ctx)).toMatchObject({ ok: false, reason: 'bad_checksum' });
    expect(classifyRow(row(ok, null), ctx)).toMatchObject({ ok: false, reason: 'missing_checksum' });
    expect(classifyRow(row(ok, 'zz'), ctx)).toMatchObject({ ok: false, reason: 'unrecognised_checksum' });
    expect(classifyRow(row(null, 'zz'), ctx)).toMatchObject({ ok: false, reason: 'no_bytes' });
  });
});

describe('importRows', () => {
  it('produces each good row’s original bytes inside the frame, with headers; lists the bad one', async () => {
    const wal = walOf(...standardRows());
    const opened = openWal(wal.file);
    const sink = new RecordingSink();
    const progress: number[] = [];
    const counts = await importRows({
      ...importOptions(opened.rows(), sink),
      progressEveryRows: 2,
      onProgress: (p) => progress.push(p.rowsRead),
    });
    opened.close();

    expect(counts).toMatchObject({
      dryRun: false,
      rows: 5,
      checksumOk: 4,
      checksumBad: 1,
      imported: 4,
      failed: 0,
      flagged: 2,
      algorithms: { sha256: 2, 'blake2b-256': 2 },
      flags: { no_metrics: 1, legacy_events: 1, undecodable: 1, no_device_id: 1 },
      // Binding to a device is a warning of the signature check, not a status of its own.
      signatures: { verified: 3, undecodable: 1 },
    });
    expect(counts.rejected).toEqual([
      {
        rowId: 3n,
        key: 'bad/60/1',
        detail: expect.stringMatching(/^bad_checksum: the envelope bytes do not match/),
      },
    ]);
    expect(counts.flaggedRows.map((r) => [r.rowId, r.flags])).toEqual([
      [4n, ['no_metrics', 'legacy_events']],
      [5n, ['undecodable', 'no_device_id']],
    ]);
    expect(progress).toEqual([2, 4, 5]);

    expect(sink.sent.map((m) => m.key)).toEqual([
      'router-1',
      'switch-7/unit-2',
      'legacy-host-3',
      'junk-host',
    ]);
    const originals = [ok, unreachable, legacy, junk];
    sink.sent.forEach((message, i) => {
      const framed = unframe(message.value);
      if (!framed.ok) throw new Error(framed.reason);
      expect(framed.schemaId).toBe(11);
      expect(framed.messageIndexes).toEqual([0]);
      expect(Buffer.from(framed.payload).equals(Buffer.from(originals[i] as Uint8Array))).toBe(true);
    });
    expect(sink.sent[2]?.headers).toEqual({
      [ImportHeader.Source]: 'legacy-wal',
      [ImportHeader.File]: 'wal.db',
      [ImportHeader.Row]: '4',
      [ImportHeader.Flags]: 'no_metrics,legacy_events',
      [ImportHeader.Checksum]: 'blake2b-256',
    });
    expect(sink.sent[0]?.headers[ImportHeader.Flags]).toBe('');
  });

  it('checks and counts without producing in a dry run', async () => {
    const wal = walOf(...standardRows());
    const opened = openWal(wal.file);
    const counts = await importRows(importOptions(opened.rows(), undefined));
    opened.close();
    expect(counts).toMatchObject({
      dryRun: true,
      rows: 5,
      checksumOk: 4,
      checksumBad: 1,
      imported: 0,
      flagged: 2,
    });
  });

  it('counts and lists messages Kafka did not acknowledge, and caps the lists', async () => {
    const rows = standardRows().map(
      (r, i): WalRow => ({
        rowId: BigInt(i + 1),
        key: r.key,
        tsNs: r.tsNs,
        bytes: r.bytes,
        bytesProblem: undefined,
        checksum: r.checksum,
      }),
    );
    const sink = new RecordingSink((m) => m.key === 'router-1');
    const counts = await importRows({ ...importOptions(rows, sink), maxListed: 1 });
    expect(counts).toMatchObject({ imported: 3, failed: 1, flagged: 2, listLimit: 1 });
    expect(counts.failedRows).toEqual([{ rowId: 1n, key: 'router-1/60/29932440', detail: 'broker said no' }]);
    expect(counts.flaggedRows).toHaveLength(1);
  });
});
