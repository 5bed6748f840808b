/**
 * The feature-row contract: the .proto file and the column catalogue agree field by field, rows
 * round-trip exactly (uint64 at 2^64-1, absent is not 0), the bytes follow the protobuf wire format
 * (checked by hand, not only through protobufjs), and bad bytes are reported, not thrown.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  decodeFeatureRow,
  encodeFeatureRow,
  type FeatureColumn,
  type FeatureRow,
  featureColumns,
  featuresSchema,
  RateState,
} from '../../../../src/core/features/index.ts';
import { defaultProfile } from '../../../../src/producers/snmp/index.ts';
import { bytesField, message, stringField, tag, varint, varintField } from '../../../helpers/protobuf.ts';

const row: FeatureRow = {
  deviceId: 'router-1',
  idempotencyKey: 'router-1/60/29932440',
  slotStartNs: 1_795_946_400_000_000_000n,
  observedAtNs: 1_795_946_402_345_678_901n,
  envelopeTsNs: 1_795_946_402_400_000_000n,
  signingKeyId: 'fixture-key-1',
  intervalS: 60,
  pollState: 'partial',
  pollReason: 'storage_used: noSuchObject',
  pollDurationMs: 13,
  pollVarbindsRequested: 103,
  pollVarbindsReceived: 102,
  pollBytesCollected: 2412,
  rateState: RateState.Ok,
  previousObservedAtNs: 1_795_946_342_345_678_901n,
  features: {
    sys_descr: 'Linux router-1',
    sys_contact: '',
    sys_uptime: 0,
    cpu_raw_user: 0n,
    cpu_raw_user_per_second: 0,
    cpu_raw_idle: 4_294_967_295n,
    cpu_raw_idle_per_second: 49.6,
    if_hc_in_octets: 2n ** 64n - 1n,
    if_hc_in_octets_per_second: 1.25e8,
    if_oper_status: 0,
    storage_size: 2 ** 62,
    load_avg_1min: 0.41,
  },
  extra: [
    {
      name: 'if_hc_in_octets',
      labels: [
        { key: 'ifIndex', value: '4' },
        { key: 'ifDescr', value: 'eth0' },
      ],
      value: { kind: 'counter', value: 2n ** 64n - 1n, bits: 64 },
      perSecond: 0,
      unit: 'bytes',
      oid: '1.3.6.1.2.1.31.1.1.1.6.4',
    },
    {
      name: 'if_in_errors',
      labels: [],
      value: { kind: 'counter', value: 7n, bits: 32 },
      perSecond: undefined,
      unit: 'packets',
      oid: '1.3.6.1.2.1.2.2.1.14.4',
    },
    {
      name: 'disk_total',
      labels: [],
      value: { kind: 'numeric', value: 0 },
      perSecond: undefined,
      unit: 'kilobytes',
      oid: '1',
    },
    {
      name: 'note',
      labels: [],
      value: { kind: 'string', value: '' },
      perSecond: undefined,
      unit: '',
      oid: '',
    },
  ],
};

describe('features.proto and the column catalogue', () => {
  const root = protobuf.parse(featuresSchema.source, { keepCase: true }).root;
  const type = root.lookupType(featuresSchema.message);

  it('FeatureRow is the first message of a file that imports nothing', () => {
    expect(featuresSchema.messageIndexes).toEqual([0]);
    expect(featuresSchema.source).not.toMatch(/^\s*import\s/m);
  });

  it('has one optional field per catalogue column, with its number and type', () => {
    for (const column of featureColumns) {
      const field = type.fields[column.name];
      expect(field, column.name).toBeDefined();
      expect([field?.id, field?.type, field?.options?.proto3_optional], column.name).toEqual([
        column.field,
        column.type,
        true,
      ]);
    }
  });

  it('names one column after each of the 29 metric definitions, and a rate after each counter', () => {
    const definitions = defaultProfile.metrics.map((m) => m.name);
    expect(definitions).toHaveLength(29);
    const named = featureColumns.filter((c) => !c.name.endsWith('_per_second'));
    expect(named.map((c) => c.name)).toEqual(definitions);
    expect(named.map((c) => c.source)).toEqual(definitions);
    const counters = defaultProfile.metrics.filter((m) => m.type === 'counter').map((m) => m.name);
    expect(featureColumns.filter((c) => c.name.endsWith('_per_second')).map((c) => c.source)).toEqual(
      counters,
    );
    for (const c of featureColumns as readonly FeatureColumn[]) {
      const definition = defaultProfile.metrics.find((m) => m.name === c.source);
      expect(c.sourceUnit, c.name).toBe(definition?.unit);
      expect(c.table, c.name).toBe(definition?.kind === 'column' ? definition.table : undefined);
    }
  });

  it('every other field of FeatureRow is a header field, numbered below the columns', () => {
    const columnNames = new Set<string>(featureColumns.map((c) => c.name));
    const header = type.fieldsArray.filter((f) => !columnNames.has(f.name));
    expect(header.map((f) => f.id)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('its enums number the poll states like DeviceStatus.State', () => {
    const poll = root.lookupEnum('amoskys.telemetry.v1.FeatureRow.PollState').values;
    expect(poll).toMatchObject({ POLL_STATE_OK: 1, POLL_STATE_PARTIAL: 2, POLL_STATE_UNREACHABLE: 3 });
    expect(poll).toMatchObject({ POLL_STATE_AUTH_FAILED: 4, POLL_STATE_ERROR: 5 });
  });
});

describe('encodeFeatureRow / decodeFeatureRow', () => {
  it('round-trips exactly: uint64 extremes, zeros present, absent columns absent', () => {
    const decoded = decodeFeatureRow(encodeFeatureRow(row));
    expect(decoded).toEqual({ ok: true, row });
    if (!decoded.ok) return;
    expect(decoded.row.features).not.toHaveProperty('cpu_raw_nice');
    expect(decoded.row.features.cpu_raw_user).toBe(0n);
    expect(decoded.row.features.sys_contact).toBe('');
  });

  it('round-trips a row without rates or features', () => {
    const bare: FeatureRow = {
      ...row,
      pollState: 'unreachable',
      rateState: RateState.FirstSample,
      previousObservedAtNs: undefined,
      features: {},
      extra: [],
    };
    expect(decodeFeatureRow(encodeFeatureRow(bare))).toEqual({ ok: true, row: bare });
  });

  it('writes the protobuf wire format: header fields, optional zeros present, absent ones not', () => {
    const minimal: FeatureRow = {
      ...row,
      slotStartNs: 0n,
      observedAtNs: 0n,
      envelopeTsNs: 0n,
      intervalS: 0,
      pollReason: '',
      pollDurationMs: 0,
      pollVarbindsRequested: 0,
      pollVarbindsReceived: 0,
      pollBytesCollected: 0,
      previousObservedAtNs: undefined,
      pollState: 'ok',
      features: { cpu_raw_user: 0n, if_hc_in_octets: 2n ** 64n - 1n, sys_name: 'r1' },
      extra: [
        {
          name: 'x',
          labels: [{ key: 'k', value: 'v' }],
          value: { kind: 'counter', value: 5n, bits: 32 },
          perSecond: undefined,
          unit: '',
          oid: '',
        },
      ],
    };
    const expected = message(
      stringField(1, 'router-1'),
      stringField(2, 'router-1/60/29932440'),
      stringField(6, 'fixture-key-1'),
      varintField(8, 1), // POLL_STATE_OK
      varintField(14, 1), // RATE_STATE_OK
      bytesField(
        15,
        message(
          stringField(1, 'x'),
          bytesField(2, message(stringField(1, 'k'), stringField(2, 'v'))),
          varintField(5, 5),
          varintField(6, 32),
        ),
      ),
      stringField(23, 'r1'),
      varintField(25, 0), // present although 0: proto3 optional
      [...tag(44, 0), ...varint(2n ** 64n - 1n)],
    );
    expect(Buffer.from(encodeFeatureRow(minimal)).toString('hex')).toBe(
      Buffer.from(expected).toString('hex'),
    );
  });

  it('refuses values outside the contract when encoding', () => {
    const withFeatures = (features: FeatureRow['features']) => ({ ...row, features });
    expect(() => encodeFeatureRow(withFeatures({ cpu_raw_user_per_second: Number.NaN }))).toThrow(RangeError);
    expect(() => encodeFeatureRow(withFeatures({ sys_uptime: Number.POSITIVE_INFINITY }))).toThrow(
      RangeError,
    );
    expect(() => encodeFeatureRow(withFeatures({ cpu_raw_user: 2n ** 64n }))).toThrow(RangeError);
    expect(() => encodeFeatureRow(withFeatures({ cpu_raw_user: -1n }))).toThrow(RangeError);
    expect(() => encodeFeatureRow(withFeatures({ if_oper_status: 1.5 }))).toThrow(RangeError);
    expect(() => encodeFeatureRow({ ...row, pollState: 'unknown' })).toThrow(RangeError);
    expect(() => encodeFeatureRow({ ...row, rateState: 'unknown' })).toThrow(RangeError);
    const unknownValue = {
      ...(row.extra[0] as FeatureRow['extra'][number]),
      value: { kind: 'unknown' as const },
    };
    expect(() => encodeFeatureRow({ ...row, extra: [unknownValue] })).toThrow(RangeError);
    const nanRate = { ...(row.extra[0] as FeatureRow['extra'][number]), perSecond: Number.NaN };
    expect(() => encodeFeatureRow({ ...row, extra: [nanRate] })).toThrow(RangeError);
  });

  it('reads fields and enum numbers of a newer writer without failing', () => {
    const bytes = message(
      encodeFeatureRow({ ...row, extra: [] }),
      varintField(8, 9), // a poll state this reader does not know (last value wins)
      varintField(14, 9),
      stringField(200, 'a field added later'),
      bytesField(15, message(stringField(1, 'future'), [...tag(10, 5), 0, 0, 0, 0])), // value kind unknown
    );
    const decoded = decodeFeatureRow(bytes);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.row.pollState).toBe('unknown');
    expect(decoded.row.rateState).toBe('unknown');
    expect(decoded.row.extra).toEqual([
      { name: 'future', labels: [], value: { kind: 'unknown' }, perSecond: undefined, unit: '', oid: '' },
    ]);
  });

  it.each([
    ['truncated bytes', encodeFeatureRow(row).subarray(0, 40)],
    ['a group wire type', Uint8Array.of(0x0b)],
    ['a NaN rate column', message([...tag(60, 1), 0, 0, 0, 0, 0, 0, 0xf8, 0x7f])],
    [
      'counter bits 16',
      message(bytesField(15, message(stringField(1, 'x'), varintField(5, 1), varintField(6, 16)))),
    ],
  ])('reports %s without throwing', (_, bytes) => {
    const decoded = decodeFeatureRow(bytes);
    expect(decoded.ok).toBe(false);
  });
});
