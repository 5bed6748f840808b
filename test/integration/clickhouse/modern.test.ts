/**
 * The `modern` variant on a current ClickHouse (26.9, the engine embedded in PyPI chdb-core; see
 * test/helpers/chdb.ts), since the local server is 18.16 (schema.test.ts covers `legacy`):
 * - `migrate()` renders every migration for the engine's version and applies it; migration 3
 *   (RBAC) can only fail there, for want of a writable access storage, and must fail for that alone;
 * - rows encoded by the sink's own code from the golden fixtures, inserted by its `createWriter()`
 *   with deduplication tokens: the same batch twice is stored once (the server drops it, thanks to
 *   the `non_replicated_deduplication_window` of the modern tables), the same bytes under another
 *   token and a replay at later offsets are stored again, and every view shows one copy;
 * - every row comes back as written (into plain MergeTree copies of the tables, where no copy is
 *   collapsed): bytes (all 256 values), nanoseconds through the DateTime64 aliases, values;
 * - the example queries of docs/analysts.md run.
 * Not covered: the HTTP interface of a server (settings travel as a SETTINGS clause here), the
 * asynchronous insert queue (an embedded engine inserts synchronously) and RBAC itself.
 * The tests run in order on one engine: each builds on the state the previous ones left.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { TestContext } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../../schemas/clickhouse/index.ts';
import {
  capabilitiesFor,
  MIGRATIONS_TABLE,
  migrate,
  parseServerVersion,
  renderMigration,
  sqlString,
} from '../../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../../src/core/config/index.ts';
import {
  type DecodedMetric,
  encodeUnsignedEnvelope,
  envelopeSchema,
  signEnvelopeBytes,
  splitSignature,
} from '../../../src/core/envelope/index.ts';
import { type FeatureRow, featureColumns, featuresSchema } from '../../../src/core/features/index.ts';
import { frame } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { DlqHeader } from '../../../src/core/topics/index.ts';
import {
  createWriter,
  dlqColumns,
  dlqRecord,
  extraJson,
  featureRecord,
  featureTableColumns,
  type InsertBatch,
  type KeyResolver,
  metricColumns,
  rawColumns,
  rawRecord,
  SinkTable,
  TsvWriter,
  writeDlq,
  writeFeature,
  writeRaw,
} from '../../../src/sinks/clickhouse/index.ts';
import { fixtureKeyId, fixturePublicKey, fixtureSigner } from '../../fixtures/envelopes/cases.ts';
import { type ChdbEngine, ChdbQueryError, startChdb } from '../../helpers/chdb.ts';
import { bytesField, message } from '../../helpers/protobuf.ts';

/** The database the docs' examples name; the engine's data folder is fresh for each run. */
const DB = 'amoskys';
const TABLES = ['raw_envelopes', 'metrics', 'features', 'dlq'] as const;
const VIEWS = [
  'v_raw_envelopes',
  'v_metrics',
  'v_features',
  'v_dlq',
  'v_metrics_latest',
  'v_metrics_hourly',
  'v_collection_health',
];
const topics = {
  raw: 'amoskys.telemetry.raw.v1',
  features: 'amoskys.telemetry.features.v1',
  dlq: 'amoskys.telemetry.dlq.v1',
};
const schemaId = 7;
/** Offsets of the replay: the same messages produced again, later in the topic. */
const REPLAY = 1000;

let engine: ChdbEngine | undefined;
let unavailable = 'not started';

beforeAll(async () => {
  const start = await startChdb();
  if (start.ok) engine = start.engine;
  else {
    unavailable = start.reason;
    console.warn(`[modern.test] skipped: ${start.reason}`);
  }
});
afterAll(async () => {
  await engine?.close();
});

function need(ctx: TestContext): ChdbEngine {
  if (engine === undefined) ctx.skip(unavailable);
  return engine as ChdbEngine;
}

// ------------------------------------------------------------------------------------------
// The messages: golden fixtures plus an envelope and a dead letter that hold every byte value.

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const binFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => readFileSync(`${dir}/${f}`));

/** A signed poll whose bytes also carry every byte value, in an unknown field v1 readers skip. */
function allBytesEnvelope(): Uint8Array {
  const slotStartNs = 1_795_946_520_000_000_000n; // 2026-11-29 10:02:00 UTC
  const poll: DevicePoll = {
    deviceId: 'bytes-1',
    protocol: 'snmp',
    intervalS: 60,
    slot: slotStartNs / 60_000_000_000n,
    slotStartNs,
    observedAtNs: slotStartNs + 987_654_321n,
    metrics: [
      {
        name: 'sys_descr',
        value: { kind: 'string', value: 'tab\there, newline\nthere, \\ and é' },
        unit: '',
        oid: '1.3.6.1.2.1.1.1.0',
        labels: [],
      },
    ],
    status: {
      state: 'ok',
      reason: '',
      durationMs: 3,
      varbindsRequested: 1,
      varbindsReceived: 1,
      bytesCollected: 77,
    },
  };
  const unsigned = encodeUnsignedEnvelope(poll, fixtureKeyId, slotStartNs + 1_000_000_000n);
  const withExtra = message(unsigned, bytesField(99, allBytes));
  const signed = signEnvelopeBytes(withExtra, fixtureSigner);
  const split = splitSignature(signed);
  // The signature covers the extra field, so the sink's check is over all of it.
  if (!split.ok || split.signingInput.length !== withExtra.length)
    throw new Error('all-bytes envelope: bad signature split');
  return signed;
}

const envelopes: Buffer[] = [
  ...binFiles(`${repoRoot}/test/fixtures/envelopes`),
  Buffer.from(allBytesEnvelope()),
].map((payload) => Buffer.from(frame(schemaId, envelopeSchema.messageIndexes, payload)));
const featureValues = binFiles(`${repoRoot}/test/fixtures/features`).map((payload) =>
  Buffer.from(frame(schemaId, featuresSchema.messageIndexes, payload)),
);
const deadLetters: { value: Buffer; headers: Record<string, string> | undefined; key: Buffer | null }[] = [
  {
    value: Buffer.from(allBytes),
    key: Buffer.from('router-1'),
    headers: {
      [DlqHeader.Reason]: 'undecodable',
      [DlqHeader.Message]: 'not a Confluent frame: magic byte 0x00 expected, got \t and \n',
      [DlqHeader.SourceTopic]: topics.raw,
      [DlqHeader.SourcePartition]: '0',
      [DlqHeader.SourceOffset]: '9007199254740993',
      [DlqHeader.SourceKey]: 'router-1',
      [DlqHeader.RejectedAtMs]: '1795946401234',
    },
  },
  // Not written by the processor: stored under its own coordinates, reason missing_reason.
  { value: Buffer.from('plain text'), key: null, headers: undefined },
];

type RawRecord = Extract<ReturnType<typeof rawRecord>, { kind: 'raw' }>;
type FeatureRecord = Extract<ReturnType<typeof featureRecord>, { kind: 'feature' }>;

/** Trusts the fixture key for any device (the unit tests of rows.ts do the same). */
const trustsFixtureKey: KeyResolver = (keyId) => (keyId === fixtureKeyId ? fixturePublicKey : undefined);

/**
 * The raw records of the envelopes read at `base` + index. Like the sink, only what rawRecord()
 * keeps (verified, within the contract) becomes rows; the rest is the processor's to dead-letter.
 */
function rawRecords(base: number): RawRecord[] {
  return envelopes.flatMap((value, i) => {
    const r = rawRecord(
      value,
      { topic: topics.raw, partition: 0, offset: String(base + i) },
      trustsFixtureKey,
    );
    return r.kind === 'raw' ? [r] : [];
  });
}

function featureRows(base: number): FeatureRecord[] {
  return featureValues.map((value, i) => {
    const r = featureRecord(value, { topic: topics.features, partition: 0, offset: String(base + i) });
    if (r.kind !== 'feature') throw new Error(`feature fixture ${i} does not decode: ${r.detail}`);
    return r;
  });
}

/** The batches the sink would insert for these messages read at `base` + index, as its encode() does. */
function batches(base: number): InsertBatch[] {
  const token = (topic: string, count: number, table: string) =>
    `${topic}/0/${base}-${base + count - 1}/${table}`;
  const out: InsertBatch[] = [];
  const add = (table: string, columns: readonly string[], w: TsvWriter, topic: string, count: number) =>
    out.push({ table, columns, body: w.toBuffer(), rows: w.rows, token: token(topic, count, table) });

  const raw = new TsvWriter();
  const metrics = new TsvWriter();
  for (const r of rawRecords(base)) writeRaw(r, raw, metrics);
  add(SinkTable.Raw, rawColumns, raw, topics.raw, envelopes.length);
  add(SinkTable.Metrics, metricColumns, metrics, topics.raw, envelopes.length);

  const features = new TsvWriter();
  for (const r of featureRows(base)) writeFeature(r, features);
  add(SinkTable.Features, featureTableColumns, features, topics.features, featureValues.length);

  const dlq = new TsvWriter();
  for (const [i, m] of deadLetters.entries()) {
    const at = { topic: topics.dlq, partition: 0, offset: String(base + i) };
    writeDlq(dlqRecord(m.value, m.headers, m.key, at, 1_795_946_500_000), dlq);
  }
  add(SinkTable.Dlq, dlqColumns, dlq, topics.dlq, deadLetters.length);
  return out;
}

/** What the records hold, for the expectations (decoded by the sink's own record functions). */
const decoded = (() => {
  const raw = rawRecords(0);
  const features = featureRows(0).map((r) => r.row);
  const metrics = raw.flatMap((r) =>
    (r.envelope.telemetry?.metrics ?? []).map((m) => ({
      key: r.envelope.header.idempotencyKey,
      device: r.deviceId,
      m,
    })),
  );
  return { raw, features, metrics };
})();

// ------------------------------------------------------------------------------------------

/** `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` (UTC) of ns since the epoch: how ClickHouse prints DateTime64(9, 'UTC'). */
function dateTime64Text(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ')}.${fraction}`;
}

/**
 * Copies of the four tables (same columns, aliases included) as plain MergeTree, so that no
 * fixture row is collapsed before it can be compared: every row the sink writes comes back.
 */
const PLAIN = `${DB}_plain`;
let plainReady: Promise<void> | undefined;
function plainTables(e: ChdbEngine): Promise<void> {
  plainReady ??= (async () => {
    await e.command(`CREATE DATABASE ${PLAIN}`);
    for (const t of TABLES) {
      await e.command(`CREATE TABLE ${PLAIN}.${t} AS ${DB}.${t} ENGINE = MergeTree ORDER BY kafka_offset`);
    }
    const write = createWriter({ client: e.client, database: PLAIN, deduplicationTokens: true });
    for (const b of batches(0)) await write(b);
  })();
  return plainReady;
}

const count = async (e: ChdbEngine, from: string): Promise<number> =>
  Number((await e.query<{ n: number }>(`SELECT count() AS n FROM ${from}`))[0]?.n);

describe('ClickHouse 26.9 (chdb): the modern variant and the sink', () => {
  it('renders the modern variant for the engine version and applies it with migrate()', async (ctx) => {
    const e = need(ctx);
    const version = parseServerVersion(e.version);
    expect(version.major).toBeGreaterThanOrEqual(26);
    const capabilities = capabilitiesFor(version);
    expect(capabilities.variant).toBe('modern');
    const rendered = migrations.map((m) => renderMigration(m, { database: DB, capabilities }));

    // Migrations 1 and 2 apply; 3 stops at its first statement, for want of an access storage.
    const rbac =
      /^migration 3 \(access\) failed at statement 1: Could not insert role `amoskys_sink` because there is no writeable access storage in user directories\. \(ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND\) \(code 514\)$/;
    await expect(migrate(e.client, { database: DB, migrations })).rejects.toThrow(rbac);
    const recorded = await e.query<{
      version: number;
      name: string;
      checksum: string;
      variant: string;
      server_version: string;
    }>(
      `SELECT version, name, checksum, variant, server_version FROM ${DB}.${MIGRATIONS_TABLE} FINAL ORDER BY version`,
    );
    expect(recorded).toEqual(
      rendered.slice(0, 2).map((m) => ({
        version: m.version,
        name: m.name,
        checksum: m.checksum,
        variant: 'modern',
        server_version: e.version,
      })),
    );
    // A second run finds 1 and 2 unchanged (their modern checksums match) and stops at 3 again.
    await expect(migrate(e.client, { database: DB, migrations })).rejects.toThrow(rbac);
    expect(await count(e, `${DB}.${MIGRATIONS_TABLE} FINAL`)).toBe(2);

    const objects = await e.query<{ name: string; engine: string }>(
      `SELECT name, engine FROM system.tables WHERE database = '${DB}' ORDER BY name`,
    );
    expect(objects).toEqual(
      [...TABLES, MIGRATIONS_TABLE]
        .map((name) => ({ name, engine: 'ReplacingMergeTree' }))
        .concat(VIEWS.map((name) => ({ name, engine: 'View' })))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );

    // Every RBAC statement is valid 26.9 SQL and fails only because the embedded engine keeps
    // users and roles in read-only XML: CREATE ROLE finds no writable storage (514), so GRANT
    // finds no role (511). A privilege error (497) or a syntax error (62) would fail here.
    const access = rendered[2]?.statements ?? [];
    expect(access).toHaveLength(7);
    for (const statement of access) {
      const [formatted] = await e.query<{ f: string }>(`SELECT formatQuery(${sqlString(statement)}) AS f`);
      expect(formatted?.f).toMatch(/^(CREATE ROLE|GRANT)/);
      const err = await e.command(statement).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(err, statement).toBeInstanceOf(ChdbQueryError);
      expect((err as ChdbQueryError).code, (err as Error).message).toBe(
        statement.startsWith('CREATE ROLE') ? '514' : '511',
      );
    }
  });

  it('creates the modern column types, the deduplication window, and views with the DateTime64 aliases', async (ctx) => {
    const e = need(ctx);
    const columns = await e.query<{ table: string; name: string; type: string; default_kind: string }>(
      `SELECT table, name, type, default_kind FROM system.columns
       WHERE database = '${DB}' AND name IN ('device_id', 'slot_start_time', 'observed_at')
         AND table IN ('raw_envelopes', 'metrics', 'features', 'v_raw_envelopes', 'v_metrics', 'v_features')
       ORDER BY table, name`,
    );
    const lc = 'LowCardinality(String)';
    const ns = "DateTime64(9, 'UTC')";
    expect(columns).toEqual([
      { table: 'features', name: 'device_id', type: lc, default_kind: '' },
      { table: 'features', name: 'slot_start_time', type: ns, default_kind: 'ALIAS' },
      { table: 'metrics', name: 'device_id', type: lc, default_kind: '' },
      { table: 'metrics', name: 'observed_at', type: ns, default_kind: 'ALIAS' },
      { table: 'raw_envelopes', name: 'device_id', type: lc, default_kind: '' },
      { table: 'raw_envelopes', name: 'slot_start_time', type: ns, default_kind: 'ALIAS' },
      // `SELECT *` alone would leave the aliases out of the views (fixed in migration 2).
      { table: 'v_features', name: 'device_id', type: lc, default_kind: '' },
      { table: 'v_features', name: 'slot_start_time', type: ns, default_kind: '' },
      { table: 'v_metrics', name: 'device_id', type: lc, default_kind: '' },
      { table: 'v_metrics', name: 'observed_at', type: ns, default_kind: '' },
      { table: 'v_raw_envelopes', name: 'device_id', type: lc, default_kind: '' },
      { table: 'v_raw_envelopes', name: 'slot_start_time', type: ns, default_kind: '' },
    ]);
    for (const table of TABLES) {
      const [row] = await e.query<{ q: string }>(
        `SELECT create_table_query AS q FROM system.tables WHERE database = '${DB}' AND name = '${table}'`,
      );
      expect(row?.q, table).toContain('non_replicated_deduplication_window = 10000');
    }
  });

  it('stores a batch sent twice with its token once, under other tokens again, and every view shows one', async (ctx) => {
    const e = need(ctx);
    const write = createWriter({ client: e.client, database: DB, deduplicationTokens: true });
    // Background merges would collapse the copies this test counts; the views must not need them.
    for (const table of TABLES) await e.command(`SYSTEM STOP MERGES ${DB}.${table}`);

    // Rows per insert: one per sorting key, because 26.9 already collapses the copies inside one
    // insert (optimize_on_insert; 18.16 does not). Two golden envelopes share a key, and so do
    // all three golden feature rows.
    const keyDevice = new Map(decoded.features.map((f) => [f.idempotencyKey, f.deviceId]));
    const distinct = {
      raw_envelopes: new Set(decoded.raw.map((r) => r.envelope.header.idempotencyKey)).size,
      metrics: new Set(decoded.metrics.map(({ key, m }) => `${key}|${m.name}|${m.oid}`)).size,
      features: keyDevice.size,
      dlq: deadLetters.length,
    };
    expect(distinct.raw_envelopes).toBeGreaterThanOrEqual(3);
    expect(distinct.metrics).toBeGreaterThan(5);

    const tableCounts = async () =>
      Object.fromEntries(
        await Promise.all(TABLES.map(async (t) => [t, await count(e, `${DB}.${t}`)] as const)),
      );
    const times = (k: number) => Object.fromEntries(Object.entries(distinct).map(([t, n]) => [t, k * n]));
    for (const b of batches(0)) await write(b);
    expect(await tableCounts()).toEqual(distinct);
    // The same batches again (a retry after a lost acknowledgement): the server drops them.
    for (const b of batches(0)) await write(b);
    expect(await tableCounts()).toEqual(distinct);
    // The same bytes under other tokens: stored. So the token decides, not a hash of the data
    // (which alone would have dropped them, with or without tokens).
    for (const b of batches(0)) await write({ ...b, token: `${b.token}/other` });
    expect(await tableCounts()).toEqual(times(2));
    // A replay: the same messages at later offsets, so other bytes and tokens. Stored again...
    for (const b of batches(REPLAY)) await write(b);
    expect(await tableCounts()).toEqual(times(3));

    // ...and shown once, the latest copy winning.
    for (const [view, table] of [
      ['v_raw_envelopes', 'raw_envelopes'],
      ['v_metrics', 'metrics'],
      ['v_features', 'features'],
    ] as const) {
      const [stats] = await e.query<{ n: number; latest: number }>(
        `SELECT count() AS n, min(kafka_offset) >= ${REPLAY} AS latest FROM ${DB}.${view}`,
      );
      expect(stats, view).toEqual({ n: distinct[table], latest: 1 });
    }
    // Dead letters are one per source message: the one with headers once; the one without names
    // its own coordinates as its source, so its copy at a later offset is another message.
    expect(await count(e, `${DB}.v_dlq`)).toBe(distinct.dlq + 1);
    const series = new Set(decoded.metrics.map(({ device, m }) => `${device}|${m.name}|${m.oid}`));
    expect(await count(e, `${DB}.v_metrics_latest`)).toBe(series.size);
    const numeric = decoded.metrics.filter(({ m }) => m.value.kind === 'numeric').length;
    const [hourly] = await e.query<{ samples: number }>(
      `SELECT sum(samples) AS samples FROM ${DB}.v_metrics_hourly`,
    );
    expect(hourly?.samples).toBe(numeric);
    const health = await e.query<{ device_id: string; polls: number }>(
      `SELECT device_id, sum(polls_seen) AS polls FROM ${DB}.v_collection_health GROUP BY device_id ORDER BY device_id`,
    );
    const perDevice = new Map<string, number>();
    for (const device of keyDevice.values()) perDevice.set(device, (perDevice.get(device) ?? 0) + 1);
    expect(health).toEqual(
      [...perDevice]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([device_id, polls]) => ({ device_id, polls })),
    );

    // The control: without the modern tables' deduplication window the token does nothing.
    await e.command(`CREATE DATABASE ${DB}_control`);
    await e.command(`CREATE TABLE ${DB}_control.raw_envelopes AS ${DB}.raw_envelopes`);
    await e.command(
      `ALTER TABLE ${DB}_control.raw_envelopes MODIFY SETTING non_replicated_deduplication_window = 0`,
    );
    const control = createWriter({ client: e.client, database: `${DB}_control`, deduplicationTokens: true });
    const rawBatch = batches(0).find((b) => b.table === 'raw_envelopes') as InsertBatch;
    await control(rawBatch);
    await control(rawBatch);
    expect(await count(e, `${DB}_control.raw_envelopes`)).toBe(2 * distinct.raw_envelopes);
  });

  it('gives back every byte of the archive and of the dead letters', async (ctx) => {
    const e = need(ctx);
    await plainTables(e);
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();
    const raw = await e.query<{ offset: string; hex: string }>(
      `SELECT toString(kafka_offset) AS offset, hex(bytes) AS hex FROM ${PLAIN}.raw_envelopes ORDER BY kafka_offset`,
    );
    expect(raw).toEqual(decoded.raw.map((r) => ({ offset: r.coordinates.offset, hex: hex(r.value) })));
    // The envelope with every byte value, also through the view analysts read.
    const allValues = decoded.raw.find((r) => new Set(r.value).size === 256) as RawRecord;
    const [viewed] = await e.query<{ hex: string }>(
      `SELECT hex(bytes) AS hex FROM ${DB}.v_raw_envelopes WHERE idempotency_key = ${sqlString(allValues.envelope.header.idempotencyKey)}`,
    );
    expect(viewed?.hex).toBe(hex(allValues.value));

    const dlq = await e.query<{
      offset: string;
      source: string;
      hex: string;
      reason: string;
      message: string;
      rejected: string;
    }>(
      `SELECT toString(kafka_offset) AS offset, toString(source_offset) AS source, hex(bytes) AS hex,
              toString(reason) AS reason, message, toString(rejected_at_ms) AS rejected
       FROM ${PLAIN}.dlq ORDER BY kafka_offset`,
    );
    expect(dlq).toEqual([
      {
        offset: '0',
        source: '9007199254740993',
        hex: hex(allBytes),
        reason: 'undecodable',
        message: deadLetters[0]?.headers?.[DlqHeader.Message],
        rejected: '1795946401234',
      },
      {
        offset: '1',
        source: '1', // no headers: its own coordinates are its source
        hex: hex(Buffer.from('plain text')),
        reason: 'missing_reason',
        message: '',
        rejected: '1795946500000',
      },
    ]);
  });

  it('reads the exact nanoseconds back through the DateTime64 aliases, in the tables and the views', async (ctx) => {
    const e = need(ctx);
    await plainTables(e);
    const read = async (from: string, alias: string, column: string) =>
      (
        await e.query<{ ns: string; text: string; back: string }>(
          `SELECT toString(${column}) AS ns, toString(${alias}) AS text, toString(toUnixTimestamp64Nano(${alias})) AS back
           FROM ${from}`,
        )
      ).sort((a, b) => a.ns.localeCompare(b.ns));
    const exact = (ns: bigint) => ({ ns: ns.toString(), text: dateTime64Text(ns), back: ns.toString() });
    const cases = [
      [
        'raw_envelopes',
        'slot_start_time',
        'slot_start_ns',
        decoded.raw.map((r) => r.envelope.telemetry?.timestampNs ?? 0n),
      ],
      ['features', 'slot_start_time', 'slot_start_ns', decoded.features.map((f) => f.slotStartNs)],
      ['metrics', 'observed_at', 'observed_at_ns', decoded.metrics.map(({ m }) => m.observedAtNs)],
    ] as const;
    // Sub-microsecond digits, or the check would not tell DateTime64(9) from (6).
    expect(cases[2][3].some((ns) => ns % 1000n !== 0n)).toBe(true);
    for (const [table, alias, column, expected] of cases) {
      const want = expected.map(exact).sort((a, b) => a.ns.localeCompare(b.ns));
      expect(await read(`${PLAIN}.${table}`, alias, column), `${table}.${alias}`).toEqual(want);
      // The views (one row per key): every row exact, at least one row.
      const viewed = await read(`${DB}.v_${table}`, alias, column);
      expect(viewed.length, `v_${table}`).toBeGreaterThan(0);
      expect(viewed, `v_${table}.${alias}`).toEqual(viewed.map((r) => exact(BigInt(r.ns))));
    }
  });

  it('gives back every metric and feature value as the sink wrote it', async (ctx) => {
    const e = need(ctx);
    await plainTables(e);
    // 64-bit integers as strings: the 26.9 default (since 25.8) writes them as JSON numbers.
    const quoted = 'SETTINGS output_format_json_quote_64bit_integers = 1';
    const metricRow = (key: string, m: DecodedMetric) => ({
      k: key,
      name: m.name,
      oid: m.oid,
      value_numeric: m.value.kind === 'numeric' ? m.value.value : null,
      value_string: m.value.kind === 'string' ? m.value.value : '',
      counter_value: m.value.kind === 'counter' ? m.value.value.toString() : null,
      counter_bits: m.value.kind === 'counter' ? m.value.bits : 0,
      unit: m.unit,
      label_keys: m.labels.map((l) => l.key),
      label_values: m.labels.map((l) => l.value),
    });
    const sortKey = (r: { k: string; name: string; oid: string }) => `${r.k}|${r.name}|${r.oid}`;
    const metrics = await e.query<ReturnType<typeof metricRow>>(
      `SELECT idempotency_key AS k, toString(metric_name) AS name, oid, value_numeric, value_string, counter_value,
              counter_bits, toString(unit) AS unit, label_keys, label_values FROM ${PLAIN}.metrics ${quoted}`,
    );
    expect(metrics.sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      decoded.metrics
        .map(({ key, m }) => metricRow(key, m))
        .sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
    expect(metrics.some((m) => m.counter_value === '18446744073709551615')).toBe(true);

    const names = featureColumns.map((c) => c.name);
    const features = await e.query<Record<string, unknown>>(
      `SELECT idempotency_key, toString(poll_state) AS poll_state, toString(rate_state) AS rate_state, poll_reason,
              interval_s, poll_bytes_collected, previous_observed_at_ns, ${names.join(', ')}, extra_json
       FROM ${PLAIN}.features ORDER BY kafka_offset ${quoted}`,
    );
    const expected = (r: FeatureRow) => {
      const values = r.features as Record<string, string | number | bigint | undefined>;
      return {
        idempotency_key: r.idempotencyKey,
        poll_state: r.pollState,
        rate_state: r.rateState,
        poll_reason: r.pollReason,
        interval_s: r.intervalS,
        poll_bytes_collected: String(r.pollBytesCollected),
        previous_observed_at_ns: r.previousObservedAtNs?.toString() ?? null,
        ...Object.fromEntries(
          names.map((n) => {
            const v = values[n];
            return [n, v === undefined ? null : typeof v === 'bigint' ? v.toString() : v];
          }),
        ),
        extra_json: extraJson(r),
      };
    };
    expect(features).toEqual(decoded.features.map(expected));
    // Some of every kind, or the comparison above proves little.
    expect(features.some((f) => typeof f.cpu_raw_user === 'string')).toBe(true);
    expect(features.some((f) => typeof f.load_avg_1min === 'number')).toBe(true);
    expect(features.some((f) => JSON.parse(String(f.extra_json)).length > 0)).toBe(true);
  });

  it('writes UInt64 as JSON numbers by default (25.8 and later): exact ns need toString()', async (ctx) => {
    const e = need(ctx);
    const [row] = await e.query<{ ns: unknown; text: string }>(
      `SELECT observed_at_ns AS ns, toString(observed_at_ns) AS text FROM ${DB}.v_metrics ORDER BY observed_at_ns DESC LIMIT 1`,
    );
    expect(typeof row?.ns).toBe('number');
    // Beyond 2^53 a JSON number is not the value: 18.16 quoted it, 26.9 does not.
    expect(BigInt(row?.text ?? '0')).toBeGreaterThan(2n ** 53n);
    expect(String(BigInt(row?.ns as number))).not.toBe(row?.text);
  });

  it('runs the example queries of docs/analysts.md', async (ctx) => {
    const e = need(ctx);
    const queries = analystExamples();
    expect(queries.length).toBeGreaterThanOrEqual(9);
    for (const q of queries) {
      expect(q).toMatch(/^SELECT /);
      await expect(e.query(q), q).resolves.toBeInstanceOf(Array);
    }
    // The unfiltered ones see this test's rows.
    const health = queries.find((q) => q.includes('FROM amoskys.v_collection_health ORDER BY')) as string;
    expect((await e.query(health)).length).toBeGreaterThan(0);
  });
});

/** The SQL of the "Example queries" section of docs/analysts.md, one string per statement. */
function analystExamples(): string[] {
  const doc = readFileSync(`${repoRoot}/docs/analysts.md`, 'utf8');
  const section = doc.slice(doc.indexOf('## Example queries'));
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
