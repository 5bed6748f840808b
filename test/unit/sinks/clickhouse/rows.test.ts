/**
 * Kafka messages -> ClickHouse rows (src/sinks/clickhouse/rows.ts), on the golden fixtures: which
 * raw messages become rows and which are skipped with what reason, and the TabSeparated the
 * writers produce, read back with a parser of this file (ClickHouse's TabSeparated rules) and
 * compared column by column with values taken from the fixtures' JSON twins and inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import { TRUST_STORE_FORMAT, toTrustSnapshot } from '../../../../src/core/crypto/index.ts';
import {
  buildSignedEnvelope,
  decodeEnvelope,
  envelopeSchema,
  toJsonValue,
} from '../../../../src/core/envelope/index.ts';
import {
  decodeFeatureRow,
  encodeFeatureRow,
  type FeatureRow,
  featureColumns,
  featuresSchema,
} from '../../../../src/core/features/index.ts';
import { frame } from '../../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../../src/core/telemetry/index.ts';
import { DlqHeader } from '../../../../src/core/topics/index.ts';
import {
  dlqColumns,
  dlqRecord,
  featureRecord,
  featureTableColumns,
  type KeyResolver,
  metricColumns,
  rawColumns,
  rawRecord,
  snapshotResolver,
  TsvWriter,
  writeDlq,
  writeFeature,
  writeRaw,
} from '../../../../src/sinks/clickhouse/index.ts';
import type { RawRecord } from '../../../../src/sinks/clickhouse/rows.ts';
import { SkipReason, type SourceCoordinates } from '../../../../src/sinks/clickhouse/types.ts';
import { fixtureSigner } from '../../../fixtures/envelopes/cases.ts';
import { buildRejectCorpus } from '../../../fixtures/envelopes/rejects.ts';

// ------------------------------------------------------------------------------------------
// A TabSeparated reader, written from ClickHouse's rules, independent of src/sinks.

/** Escapes a field may hold after a backslash, and the byte each stands for. */
const unescapes: Record<number, number> = {
  48: 0x00, // \0
  116: 0x09, // \t
  110: 0x0a, // \n
  114: 0x0d, // \r
  92: 0x5c, // \\
  98: 0x08, // \b
  102: 0x0c, // \f
  39: 0x27, // \'
};

/** One field: null for `\N`, else its bytes unescaped. */
function readField(raw: Buffer): Buffer | null {
  if (raw.length === 2 && raw[0] === 0x5c && raw[1] === 0x4e) return null;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] as number;
    if (b !== 0x5c) {
      out.push(b);
      continue;
    }
    const next = raw[++i];
    const byte = next === undefined ? undefined : unescapes[next];
    if (byte === undefined) throw new Error(`unknown escape \\${String.fromCharCode(next ?? 0)} in ${raw}`);
    out.push(byte);
  }
  return Buffer.from(out);
}

/** Rows of a body as raw (still escaped) fields: a raw tab or newline is always a separator. */
function splitRows(body: Buffer): Buffer[][] {
  expect(body.at(-1), 'a body ends with a newline').toBe(0x0a);
  const rows: Buffer[][] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== 0x0a) continue;
    const line = body.subarray(start, i);
    const fields: Buffer[] = [];
    let from = 0;
    for (let j = 0; j <= line.length; j++) {
      if (j === line.length || line[j] === 0x09) {
        fields.push(line.subarray(from, j));
        from = j + 1;
      }
    }
    rows.push(fields);
    start = i + 1;
  }
  return rows;
}

/** An Array(String) field as ClickHouse reads it: `['a','b']`, quoted-string escapes inside. */
function readStringArray(raw: Buffer): string[] {
  const quote = 0x27;
  expect(raw[0] === 0x5b && raw.at(-1) === 0x5d, raw.toString()).toBe(true);
  const out: string[] = [];
  let i = 1;
  while (i < raw.length - 1) {
    expect(raw[i], raw.toString()).toBe(quote);
    i++;
    const bytes: number[] = [];
    for (;;) {
      const b = raw[i];
      if (b === undefined) throw new Error(`unterminated string in ${raw}`);
      if (b === quote) break;
      if (b === 0x5c) {
        const byte = unescapes[raw[i + 1] ?? 0];
        if (byte === undefined) throw new Error(`unknown escape in ${raw}`);
        bytes.push(byte);
        i += 2;
        continue;
      }
      expect([0x09, 0x0a, 0x0d], 'no raw tab, newline or carriage return in an array').not.toContain(b);
      bytes.push(b);
      i++;
    }
    out.push(Buffer.from(bytes).toString('utf8'));
    i++;
    if (raw[i] === 0x2c) i++;
  }
  return out;
}

type Row = Record<string, Buffer | null>;

/** The body read back: one record per row, keyed by the insert's column names. */
function readRows(body: Buffer, columns: readonly string[]): Row[] {
  return splitRows(body).map((fields) => {
    expect(fields.length, 'fields per row').toBe(columns.length);
    return Object.fromEntries(columns.map((c, i) => [c, readField(fields[i] as Buffer)]));
  });
}

/** Text columns of a row (UTF-8), NULL as null; binary columns compared as bytes elsewhere. */
const text = (row: Row, columns: readonly string[]) =>
  Object.fromEntries(columns.map((c) => [c, row[c] === null ? null : (row[c] as Buffer).toString('utf8')]));

// ------------------------------------------------------------------------------------------
// Fixtures

const schemaId = 42;
const envelopeDir = `${repoRoot}/test/fixtures/envelopes`;
const featureDir = `${repoRoot}/test/fixtures/features`;
const binNames = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => f.slice(0, -'.bin'.length))
    .sort();

interface EnvelopeTwin {
  signingKeyId: string;
  publicKey: string;
  envelope: {
    header: { idempotencyKey: string; tsNs: string; signingKeyId: string; signature: string };
    telemetry: { deviceId: string; timestampNs: string; metrics: unknown[] };
  };
}

const envelopeFixture = (name: string) => {
  const payload = readFileSync(`${envelopeDir}/${name}.bin`);
  const twin = JSON.parse(readFileSync(`${envelopeDir}/${name}.json`, 'utf8')) as EnvelopeTwin;
  const framed = Buffer.from(frame(schemaId, envelopeSchema.messageIndexes, payload));
  return { payload, framed, twin };
};

/** Trusts the fixture key (from the twin) for whatever device it is asked about. */
const fixtureTwin = envelopeFixture('snmp-ok').twin;
const fixturePublicKey = new Uint8Array(Buffer.from(fixtureTwin.publicKey, 'hex'));
const trustsFixtureKey: KeyResolver = (keyId) =>
  keyId === fixtureTwin.signingKeyId ? fixturePublicKey : undefined;

/** The same key in a trust store, bound to `devices`. */
const storeResolver = (keys: { keyId: string; devices: string[] }[]): KeyResolver => {
  const snapshot = toTrustSnapshot({
    format: TRUST_STORE_FORMAT,
    keys: keys.map((k) => ({
      keyId: k.keyId,
      publicKey: Buffer.from(fixturePublicKey).toString('base64'),
      devices: k.devices,
      notBefore: '2020-01-01T00:00:00Z',
    })),
  });
  return snapshotResolver(() => snapshot);
};

const at: SourceCoordinates = { topic: 'amoskys.telemetry.raw.v1', partition: 3, offset: '9007199254740993' };

const expectRaw = (r: ReturnType<typeof rawRecord>): RawRecord => {
  if (r.kind !== 'raw') throw new Error(`expected a raw record, got ${r.reason}: ${r.detail}`);
  return r;
};

// ------------------------------------------------------------------------------------------

describe('rawRecord', () => {
  const names = binNames(envelopeDir);

  it('has fixtures to run on', () => {
    expect(names).toEqual(['legacy-flow-process', 'snmp-ok', 'snmp-unreachable', 'snmp-v2-unknown-fields']);
  });

  const polls = names.filter((n) => n !== 'legacy-flow-process');

  it('skips a verified legacy envelope (flows and processes, no poll) as invalid_values, as the processor does', () => {
    const r = rawRecord(envelopeFixture('legacy-flow-process').framed, at, trustsFixtureKey);
    expect(r.kind).toBe('skip');
    expect(r.kind === 'skip' && r.reason).toBe(SkipReason.InvalidValues);
  });

  it.each(polls)('%s: a verified envelope, its metrics counted, the value kept as received', (name) => {
    const { framed, twin } = envelopeFixture(name);
    const r = expectRaw(rawRecord(framed, at, trustsFixtureKey));
    const metrics = twin.envelope.telemetry.metrics.length;
    expect({
      rows: r.rows,
      deviceId: r.deviceId,
      slotStartS: r.slotStartS,
      coordinates: r.coordinates,
    }).toEqual({
      rows: Math.max(1, metrics),
      deviceId: twin.envelope.telemetry.deviceId,
      slotStartS: 1_795_946_400,
      coordinates: at,
    });
    expect(r.value).toBe(framed);
    expect(toJsonValue(r.envelope)).toEqual(twin.envelope);
  });

  it('counts 8 rows for the 8 metrics of snmp-ok, 1 for an envelope without metrics', () => {
    expect(expectRaw(rawRecord(envelopeFixture('snmp-ok').framed, at, trustsFixtureKey)).rows).toBe(8);
    expect(expectRaw(rawRecord(envelopeFixture('snmp-unreachable').framed, at, trustsFixtureKey)).rows).toBe(
      1,
    );
  });

  it('verifies with a trust store that binds the key to the device', () => {
    const resolve = storeResolver([{ keyId: 'fixture-key-1', devices: ['router-1', 'switch-7/unit-2'] }]);
    expect(rawRecord(envelopeFixture('snmp-ok').framed, at, resolve).kind).toBe('raw');
    expect(rawRecord(envelopeFixture('snmp-unreachable').framed, at, resolve).kind).toBe('raw');
  });

  it('skips an envelope signed by an unknown key as unverified', () => {
    const resolve = storeResolver([{ keyId: 'some-other-key', devices: ['router-1'] }]);
    const r = rawRecord(envelopeFixture('snmp-ok').framed, at, resolve);
    expect(r).toMatchObject({ kind: 'skip', reason: SkipReason.Unverified, coordinates: at });
    expect(r.kind === 'skip' && r.detail).toContain('fixture-key-1');
  });

  it('skips an envelope whose key is not bound to its device as unverified', () => {
    const resolve = storeResolver([{ keyId: 'fixture-key-1', devices: ['router-2', 'switch-7/unit-2'] }]);
    expect(rawRecord(envelopeFixture('snmp-ok').framed, at, resolve)).toMatchObject({
      kind: 'skip',
      reason: SkipReason.Unverified,
    });
    // The binding is per device: the other fixture still verifies under the same store.
    expect(rawRecord(envelopeFixture('snmp-unreachable').framed, at, resolve).kind).toBe('raw');
  });

  it('skips a changed signature or a changed signed byte as unverified', () => {
    const { framed, twin } = envelopeFixture('snmp-ok');
    const signature = framed.indexOf(Buffer.from(twin.envelope.header.signature, 'hex'));
    expect(signature).toBeGreaterThan(0);
    const badSignature = Buffer.from(framed);
    badSignature[signature + 17] = (badSignature[signature + 17] as number) ^ 0x01;

    const tampered = Buffer.from(framed);
    const descr = tampered.indexOf('Linux router-1');
    tampered[descr] = 0x4d; // "Linux" -> "Minux", still a valid UTF-8 string
    for (const value of [badSignature, tampered]) {
      // Still decodable: the skip is about the signature, not the bytes.
      expect(decodeEnvelope(value.subarray(6)).ok).toBe(true);
      expect(rawRecord(value, at, trustsFixtureKey)).toMatchObject({
        kind: 'skip',
        reason: SkipReason.Unverified,
        detail: expect.stringContaining('does not verify'),
      });
    }
  });

  it('skips a tombstone, garbage, a truncated or unframed value as undecodable', () => {
    const { framed, payload } = envelopeFixture('snmp-ok');
    const cases: [string, Buffer | null][] = [
      ['tombstone', null],
      ['text', Buffer.from('not an envelope at all')],
      ['empty', Buffer.alloc(0)],
      ['framed garbage', Buffer.from(frame(schemaId, [0], Uint8Array.of(0xff, 0xff, 0xff, 0xff)))],
      ['truncated', framed.subarray(0, framed.length - 100)],
      ['unframed', payload],
    ];
    for (const [what, value] of cases) {
      const r = rawRecord(value, at, trustsFixtureKey);
      expect(r, what).toMatchObject({ kind: 'skip', reason: SkipReason.Undecodable, coordinates: at });
      expect(r.kind === 'skip' && r.detail.length > 0, what).toBe(true);
    }
    expect(rawRecord(null, at, trustsFixtureKey)).toMatchObject({
      detail: expect.stringContaining('tombstone'),
    });
  });

  it('skips a signed envelope without a device payload, or with an empty device id, as no_telemetry', () => {
    const nowNs = BigInt(Date.UTC(2026, 10, 29, 10)) * 1_000_000n;
    const corpus = buildRejectCorpus({
      nowNs,
      schemaId,
      freshnessWindowMs: 3_600_000,
      maxFutureSkewMs: 60_000,
      maxMessageBytes: 65_536,
    });
    const snapshot = toTrustSnapshot(corpus.trustStore);
    const resolve = snapshotResolver(() => snapshot);
    const value = (name: string) => {
      const m = corpus.messages.find((x) => x.name === name);
      if (m?.value == null) throw new Error(`no corpus message ${name}`);
      return Buffer.from(m.value);
    };
    for (const name of ['no-payload', 'empty-device-id']) {
      expect(rawRecord(value(name), at, resolve), name).toMatchObject({
        kind: 'skip',
        reason: SkipReason.NoTelemetry,
      });
    }
    // And the corpus' valid envelope passes the same resolver.
    expect(rawRecord(value('valid'), at, resolve).kind).toBe('raw');
  });
});

describe('writeRaw', () => {
  it('snmp-ok: one raw_envelopes row with the value byte for byte, one metrics row per metric', () => {
    const { framed } = envelopeFixture('snmp-ok');
    const record = expectRaw(rawRecord(framed, at, trustsFixtureKey));
    const raw = new TsvWriter();
    const metrics = new TsvWriter();
    writeRaw(record, raw, metrics);
    expect(raw.rows).toBe(1);
    expect(metrics.rows).toBe(8);

    const [envelopeRow, ...more] = readRows(raw.toBuffer(), rawColumns);
    expect(more).toEqual([]);
    const row = envelopeRow as Row;
    expect(Buffer.compare(row.bytes as Buffer, framed)).toBe(0);
    expect(
      text(
        row,
        rawColumns.filter((c) => c !== 'bytes'),
      ),
    ).toEqual({
      idempotency_key: 'router-1/60/29932440',
      device_id: 'router-1',
      slot_start: '1795946400',
      slot_start_ns: '1795946400000000000',
      envelope_ts_ns: '1795946402400000000',
      signing_key_id: 'fixture-key-1',
      envelope_version: '1',
      metric_count: '8',
      kafka_topic: 'amoskys.telemetry.raw.v1',
      kafka_partition: '3',
      kafka_offset: '9007199254740993',
    });

    const common = {
      idempotency_key: 'router-1/60/29932440',
      device_id: 'router-1',
      ts: '1795946400',
      observed_at_ns: '1795946402345678901',
      kafka_topic: 'amoskys.telemetry.raw.v1',
      kafka_partition: '3',
      kafka_offset: '9007199254740993',
    };
    const scalar = (
      name: string,
      oid: string,
      unit: string,
      value: Partial<Record<string, string | null>>,
    ) => ({
      ...common,
      metric_name: name,
      value_numeric: null,
      value_string: '',
      counter_value: null,
      counter_bits: '0',
      unit,
      oid,
      label_keys: [],
      label_values: [],
      ...value,
    });
    const interfaceLabels = { label_keys: ['ifIndex', 'ifDescr'], label_values: ['2', 'eth0'] };
    const expected = [
      scalar('sys_descr', '1.3.6.1.2.1.1.1.0', '', {
        value_string: 'Linux router-1 6.1.0-28-amd64 #1 SMP x86_64',
      }),
      scalar('sys_uptime', '1.3.6.1.2.1.1.3.0', 'centiseconds', { value_numeric: '8640123' }),
      scalar('la_load_1', '1.3.6.1.4.1.2021.10.1.3.1', '', { value_numeric: '0.15' }),
      scalar('ss_cpu_idle', '1.3.6.1.4.1.2021.11.11.0', 'percent', { value_numeric: '0' }),
      scalar('sys_contact', '1.3.6.1.2.1.1.4.0', '', {}),
      {
        ...scalar('if_in_octets', '1.3.6.1.2.1.2.2.1.10.2', 'bytes', {
          counter_value: '4294967295',
          counter_bits: '32',
        }),
        ...interfaceLabels,
      },
      {
        ...scalar('if_hc_in_octets', '1.3.6.1.2.1.31.1.1.1.6.2', 'bytes', {
          counter_value: '18446744073709551615',
          counter_bits: '64',
        }),
        ...interfaceLabels,
      },
      {
        ...scalar('hr_storage_used', '1.3.6.1.2.1.25.2.3.1.6.1', 'allocation_units', {
          value_numeric: '1234567',
        }),
        label_keys: ['hrStorageIndex', 'hrStorageDescr'],
        label_values: ['1', 'Physical memory'],
      },
    ];
    const rawFields = splitRows(metrics.toBuffer());
    const metricRows = readRows(metrics.toBuffer(), metricColumns).map((r, i) => {
      const fields = rawFields[i] as Buffer[];
      return {
        ...text(r, metricColumns),
        label_keys: readStringArray(fields[metricColumns.indexOf('label_keys')] as Buffer),
        label_values: readStringArray(fields[metricColumns.indexOf('label_values')] as Buffer),
      };
    });
    expect(metricRows).toEqual(expected);
  });

  it('an envelope without metrics: the raw row only, metric_count 0', () => {
    const record = expectRaw(rawRecord(envelopeFixture('snmp-unreachable').framed, at, trustsFixtureKey));
    const raw = new TsvWriter();
    const metrics = new TsvWriter();
    writeRaw(record, raw, metrics);
    expect(metrics.rows).toBe(0);
    expect(metrics.toBuffer().length).toBe(0);
    const [row] = readRows(raw.toBuffer(), rawColumns);
    expect(row?.metric_count?.toString()).toBe('0');
    expect(row?.device_id?.toString()).toBe('switch-7/unit-2');
    expect(row?.idempotency_key?.toString()).toBe('switch-7/unit-2/300/5986488');
  });

  it('escapes every text column: names, units, OIDs, string values and labels with tabs, newlines, quotes, backslashes, NUL, unicode', () => {
    const nasty = "tab\there\nnew'line\\back\0nul\r — ünï 𝄞 \\N";
    const slotStartNs = BigInt(Date.UTC(2026, 10, 29, 10)) * 1_000_000n;
    const poll: DevicePoll = {
      deviceId: 'dev-1',
      protocol: 'snmp',
      intervalS: 60,
      slot: slotStartNs / 60_000_000_000n,
      slotStartNs,
      observedAtNs: slotStartNs + 1_000_000n,
      metrics: [
        { name: nasty, value: { kind: 'string', value: nasty }, unit: nasty, oid: nasty, labels: [] },
        {
          name: 'neg_zero',
          value: { kind: 'numeric', value: -0 },
          unit: '',
          oid: '1.3',
          labels: [
            { key: nasty, value: "it's" },
            { key: '', value: nasty },
          ],
        },
        { name: 'tiny', value: { kind: 'numeric', value: 5e-324 }, unit: '', oid: '1.3', labels: [] },
        { name: 'big', value: { kind: 'numeric', value: 1e21 }, unit: '', oid: '1.3', labels: [] },
        { name: 'zero', value: { kind: 'counter', value: 0n, bits: 64 }, unit: '', oid: '1.3', labels: [] },
      ],
      status: {
        state: 'ok',
        reason: '',
        durationMs: 1,
        varbindsRequested: 5,
        varbindsReceived: 5,
        bytesCollected: 10,
      },
    };
    const payload = buildSignedEnvelope(poll, fixtureSigner, slotStartNs + 2_000_000n);
    const framed = Buffer.from(frame(schemaId, envelopeSchema.messageIndexes, payload));
    const record = expectRaw(rawRecord(framed, at, trustsFixtureKey));
    const raw = new TsvWriter();
    const metrics = new TsvWriter();
    writeRaw(record, raw, metrics);

    const body = metrics.toBuffer();
    const rows = readRows(body, metricColumns);
    const fields = splitRows(body);
    expect(rows).toHaveLength(5);
    const s = (row: Row | undefined, c: string) => {
      const v = row?.[c];
      return v === null || v === undefined ? v : v.toString('utf8');
    };
    const [first, second, third, fourth, fifth] = rows;
    for (const c of ['metric_name', 'value_string', 'unit', 'oid']) expect(s(first, c), c).toBe(nasty);
    expect(s(first, 'value_numeric')).toBeNull();
    expect(s(second, 'value_numeric')).toBe('-0');
    const labels = fields[1] as Buffer[];
    expect(readStringArray(labels[metricColumns.indexOf('label_keys')] as Buffer)).toEqual([nasty, '']);
    expect(readStringArray(labels[metricColumns.indexOf('label_values')] as Buffer)).toEqual(["it's", nasty]);
    expect(s(third, 'value_numeric')).toBe('5e-324');
    expect(s(fourth, 'value_numeric')).toBe('1e+21');
    expect([s(fifth, 'counter_value'), s(fifth, 'counter_bits'), s(fifth, 'value_numeric')]).toEqual([
      '0',
      '64',
      null,
    ]);
    // The raw row keeps the bytes that carry all of it.
    const [envelopeRow] = readRows(raw.toBuffer(), rawColumns);
    expect(Buffer.compare(envelopeRow?.bytes as Buffer, framed)).toBe(0);
  });
});

// ------------------------------------------------------------------------------------------

const featureFixture = (name: string) => {
  const payload = readFileSync(`${featureDir}/${name}.bin`);
  const twin = JSON.parse(readFileSync(`${featureDir}/${name}.json`, 'utf8')) as {
    row: Record<string, unknown> & {
      features: Record<string, string | number>;
      extra: { name: string; labels: { key: string; value: string }[]; value: Record<string, unknown> }[];
    };
  };
  return { framed: Buffer.from(frame(schemaId, featuresSchema.messageIndexes, payload)), twin };
};

const featureAt: SourceCoordinates = { topic: 'amoskys.telemetry.features.v1', partition: 0, offset: '17' };

describe('featureRecord and writeFeature', () => {
  const names = binNames(featureDir);

  it('has fixtures to run on', () => {
    expect(names).toEqual(['snmpd-agent-restart', 'snmpd-rates', 'unreachable']);
  });

  it.each(names)('%s: every column in order, named features as in the twin, NULL for absent ones', (name) => {
    const { framed, twin } = featureFixture(name);
    const record = featureRecord(framed, featureAt);
    if (record.kind !== 'feature') throw new Error(`${record.reason}: ${record.detail}`);
    const w = new TsvWriter();
    writeFeature(record, w);
    const [row, ...more] = readRows(w.toBuffer(), featureTableColumns);
    expect(more).toEqual([]);
    const cells = text(row as Row, featureTableColumns);

    // The insert names every column of the wide table, in the order of the catalogue.
    expect(featureTableColumns.slice(16, 16 + featureColumns.length)).toEqual(
      featureColumns.map((c) => c.name),
    );
    expect(featureTableColumns).toHaveLength(16 + featureColumns.length + 4);

    const t = twin.row;
    expect(cells).toMatchObject({
      idempotency_key: t.idempotencyKey,
      device_id: t.deviceId,
      slot_start: String(BigInt(t.slotStartNs as string) / 1_000_000_000n).padStart(10, '0'),
      slot_start_ns: t.slotStartNs,
      observed_at_ns: t.observedAtNs,
      envelope_ts_ns: t.envelopeTsNs,
      signing_key_id: t.signingKeyId,
      interval_s: String(t.intervalS),
      poll_state: t.pollState,
      poll_reason: t.pollReason,
      poll_duration_ms: String(t.pollDurationMs),
      poll_varbinds_requested: String(t.pollVarbindsRequested),
      poll_varbinds_received: String(t.pollVarbindsReceived),
      poll_bytes_collected: String(t.pollBytesCollected),
      rate_state: t.rateState,
      previous_observed_at_ns: t.previousObservedAtNs ?? null,
      kafka_topic: featureAt.topic,
      kafka_partition: '0',
      kafka_offset: '17',
    });
    for (const c of featureColumns) {
      const v = t.features[c.name];
      expect(cells[c.name], c.name).toBe(v === undefined ? null : String(v));
    }
    expect(record.slotStartS).toBe(Number(BigInt(t.slotStartNs as string) / 1_000_000_000n));

    const extra = JSON.parse(cells.extra_json as string) as {
      name: string;
      value: unknown;
      labels: unknown;
    }[];
    expect(extra).toHaveLength(t.extra.length);
    extra.forEach((e, i) => {
      const from = t.extra[i];
      expect(e.name).toBe(from?.name);
      expect(e.labels).toEqual(Object.fromEntries((from?.labels ?? []).map((l) => [l.key, l.value])));
      // Counters as exact decimal strings (the twin holds them as strings too).
      expect(e.value).toEqual(from?.value.value);
    });
  });

  it('snmpd-rates: spot values written out', () => {
    const record = featureRecord(featureFixture('snmpd-rates').framed, featureAt);
    if (record.kind !== 'feature') throw new Error(record.detail);
    const w = new TsvWriter();
    writeFeature(record, w);
    const cells = text(readRows(w.toBuffer(), featureTableColumns)[0] as Row, featureTableColumns);
    expect(cells).toMatchObject({
      slot_start: '1795946460',
      cpu_raw_user: '2704',
      cpu_raw_user_per_second: '50',
      load_avg_1min: '0.41',
      if_hc_in_octets: '2033473486',
      if_oper_status: '2',
      sys_descr: 'Linux vm 6.18.44-fc-v857 #1 SMP PREEMPT_DYNAMIC @0 x86_64',
      previous_observed_at_ns: '1795946402300000000',
    });
  });

  it('unreachable: every named feature NULL, extra_json an empty array', () => {
    const record = featureRecord(featureFixture('unreachable').framed, featureAt);
    if (record.kind !== 'feature') throw new Error(record.detail);
    const w = new TsvWriter();
    writeFeature(record, w);
    const cells = text(readRows(w.toBuffer(), featureTableColumns)[0] as Row, featureTableColumns);
    for (const c of featureColumns) expect(cells[c.name], c.name).toBeNull();
    expect(cells.extra_json).toBe('[]');
    expect(cells.poll_state).toBe('unreachable');
  });

  it('extra_json keeps 64-bit counters exact, string values, unknown kinds and absent rates', () => {
    const decoded = decodeFeatureRow(readFileSync(`${featureDir}/snmpd-rates.bin`));
    if (!decoded.ok) throw new Error(decoded.detail);
    const row: FeatureRow = {
      ...decoded.row,
      pollReason: 'tab\tand\nnewline \\ "quoted"',
      previousObservedAtNs: undefined,
      extra: [
        {
          name: 'if_hc_in_octets',
          labels: [
            { key: 'ifIndex', value: '2' },
            { key: 'ifDescr', value: 'eth0\t"x"' },
          ],
          value: { kind: 'counter', value: 18_446_744_073_709_551_615n, bits: 64 },
          perSecond: 1234.5,
          unit: 'bytes',
          oid: '1.3.6.1.2.1.31.1.1.1.6.2',
        },
        {
          name: 'if_in_octets',
          labels: [],
          value: { kind: 'counter', value: 9_007_199_254_740_993n, bits: 64 },
          perSecond: undefined,
          unit: 'bytes',
          oid: '1.3',
        },
        {
          name: 'sys_descr',
          labels: [],
          value: { kind: 'string', value: 'line1\nline2\\' },
          perSecond: undefined,
          unit: '',
          oid: '1.3.6.1.2.1.1.1.0',
        },
      ],
    };
    const framed = Buffer.from(frame(schemaId, featuresSchema.messageIndexes, encodeFeatureRow(row)));
    const record = featureRecord(framed, featureAt);
    if (record.kind !== 'feature') throw new Error(record.detail);
    const w = new TsvWriter();
    writeFeature(record, w);
    const cells = text(readRows(w.toBuffer(), featureTableColumns)[0] as Row, featureTableColumns);
    expect(cells.poll_reason).toBe('tab\tand\nnewline \\ "quoted"');
    expect(cells.previous_observed_at_ns).toBeNull();
    expect(JSON.parse(cells.extra_json as string)).toEqual([
      {
        name: 'if_hc_in_octets',
        labels: { ifIndex: '2', ifDescr: 'eth0\t"x"' },
        value: '18446744073709551615',
        counter_bits: 64,
        per_second: 1234.5,
        unit: 'bytes',
        oid: '1.3.6.1.2.1.31.1.1.1.6.2',
      },
      {
        name: 'if_in_octets',
        labels: {},
        value: '9007199254740993',
        counter_bits: 64,
        per_second: null,
        unit: 'bytes',
        oid: '1.3',
      },
      {
        name: 'sys_descr',
        labels: {},
        value: 'line1\nline2\\',
        per_second: null,
        unit: '',
        oid: '1.3.6.1.2.1.1.1.0',
      },
    ]);
  });

  it('skips a tombstone or garbage as undecodable', () => {
    for (const value of [
      null,
      Buffer.from('garbage'),
      Buffer.from(frame(schemaId, [0], Uint8Array.of(0xff, 0xff))),
    ]) {
      expect(featureRecord(value, featureAt)).toMatchObject({ kind: 'skip', reason: SkipReason.Undecodable });
    }
  });
});

// ------------------------------------------------------------------------------------------

describe('dlqRecord and writeDlq', () => {
  const dlqAt: SourceCoordinates = { topic: 'amoskys.telemetry.dlq.v1', partition: 1, offset: '77' };
  const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const kafkaTimestampMs = Date.UTC(2026, 10, 29, 10, 0, 5, 250);
  const processorHeaders = () => ({
    [DlqHeader.Reason]: Buffer.from('bad_signature'),
    [DlqHeader.Message]: Buffer.from('signature does not verify\tunder key "k"\n'),
    [DlqHeader.SourceTopic]: Buffer.from('amoskys.telemetry.raw.v1'),
    [DlqHeader.SourcePartition]: Buffer.from('4'),
    [DlqHeader.SourceOffset]: Buffer.from('18446744073709551615'),
    [DlqHeader.SourceKey]: Buffer.from('router-1'),
    [DlqHeader.RejectedAtMs]: Buffer.from(String(Date.UTC(2026, 10, 29, 10, 0, 1, 999))),
  });

  it('a dead letter of the processor: reason, message, source and time from its headers, the bytes exact', () => {
    const record = dlqRecord(everyByte, processorHeaders(), Buffer.from('router-1'), dlqAt, kafkaTimestampMs);
    expect(record).toMatchObject({
      kind: 'dlq',
      reason: 'bad_signature',
      message: 'signature does not verify\tunder key "k"\n',
      source: { topic: 'amoskys.telemetry.raw.v1', partition: 4, offset: '18446744073709551615' },
      sourceKey: 'router-1',
      rejectedAtMs: Date.UTC(2026, 10, 29, 10, 0, 1, 999),
      coordinates: dlqAt,
      rows: 1,
    });
    const w = new TsvWriter();
    writeDlq(record, w);
    const [row] = readRows(w.toBuffer(), dlqColumns);
    expect(Buffer.compare(row?.bytes as Buffer, everyByte)).toBe(0);
    expect(
      text(
        row as Row,
        dlqColumns.filter((c) => c !== 'bytes'),
      ),
    ).toEqual({
      reason: 'bad_signature',
      message: 'signature does not verify\tunder key "k"\n',
      source_topic: 'amoskys.telemetry.raw.v1',
      source_partition: '4',
      source_offset: '18446744073709551615',
      source_key: 'router-1',
      rejected_at: '1795946401',
      rejected_at_ms: '1795946401999',
      kafka_topic: 'amoskys.telemetry.dlq.v1',
      kafka_partition: '1',
      kafka_offset: '77',
    });
  });

  it('takes the first value of a repeated header', () => {
    const headers = {
      ...processorHeaders(),
      [DlqHeader.Reason]: [Buffer.from('stale'), Buffer.from('future')],
    };
    expect(dlqRecord(everyByte, headers, null, dlqAt, kafkaTimestampMs).reason).toBe('stale');
  });

  it('without the processor headers: reason missing_reason, its own coordinates as the source, the Kafka time', () => {
    for (const headers of [undefined, {}]) {
      const record = dlqRecord(everyByte, headers, Buffer.from('some-key'), dlqAt, kafkaTimestampMs);
      expect(record).toMatchObject({
        reason: 'missing_reason',
        message: '',
        source: dlqAt,
        sourceKey: 'some-key',
        rejectedAtMs: kafkaTimestampMs,
      });
      const w = new TsvWriter();
      writeDlq(record, w);
      const [row] = readRows(w.toBuffer(), dlqColumns);
      expect(
        text(row as Row, ['reason', 'source_topic', 'source_partition', 'source_offset', 'rejected_at']),
      ).toEqual({
        reason: 'missing_reason',
        source_topic: dlqAt.topic,
        source_partition: '1',
        source_offset: '77',
        rejected_at: '1795946405',
      });
    }
    // No key, no value: empty key and empty bytes, still one row.
    const empty = dlqRecord(null, undefined, null, dlqAt, kafkaTimestampMs);
    expect(empty.sourceKey).toBe('');
    expect(empty.value.length).toBe(0);
    const w = new TsvWriter();
    writeDlq(empty, w);
    expect(readRows(w.toBuffer(), dlqColumns)[0]?.bytes?.length).toBe(0);
  });

  it('uses its own coordinates when any source header is missing or malformed', () => {
    const broken = [
      { [DlqHeader.SourcePartition]: undefined },
      { [DlqHeader.SourcePartition]: Buffer.from('-1') },
      { [DlqHeader.SourcePartition]: Buffer.from('x') },
      { [DlqHeader.SourceOffset]: Buffer.from('12a') },
      { [DlqHeader.SourceOffset]: undefined },
      { [DlqHeader.SourceTopic]: undefined },
    ];
    for (const change of broken) {
      const record = dlqRecord(
        everyByte,
        { ...processorHeaders(), ...change },
        null,
        dlqAt,
        kafkaTimestampMs,
      );
      expect(record.source, JSON.stringify(change)).toEqual(dlqAt);
      expect(record.reason).toBe('bad_signature');
    }
  });

  it('falls back to the Kafka time for a rejected-at header a DateTime cannot hold, and to 0 without either', () => {
    for (const value of ['', 'abc', '-5', '1e3', '1.5', String(2 ** 32 * 1000), '99999999999999999']) {
      const headers = { ...processorHeaders(), [DlqHeader.RejectedAtMs]: Buffer.from(value) };
      expect(dlqRecord(everyByte, headers, null, dlqAt, kafkaTimestampMs).rejectedAtMs, value).toBe(
        kafkaTimestampMs,
      );
    }
    const record = dlqRecord(everyByte, {}, null, dlqAt, -1);
    expect(record.rejectedAtMs).toBe(0);
    const w = new TsvWriter();
    writeDlq(record, w);
    const [row] = readRows(w.toBuffer(), dlqColumns);
    expect(text(row as Row, ['rejected_at', 'rejected_at_ms'])).toEqual({
      rejected_at: '0000000000',
      rejected_at_ms: '0',
    });
  });
});
