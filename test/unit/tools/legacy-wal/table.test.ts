/** Finding the WAL table and its columns, and the --columns option. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../src/core/errors/index.ts';
import { chooseTable, parseColumnOverrides, resolveColumns } from '../../../../src/tools/legacy-wal/index.ts';

const legacy = ['id', 'idem', 'ts_ns', 'bytes', 'checksum', 'sig', 'prev_sig'];

describe('resolveColumns', () => {
  it('finds the columns of the earlier system’s writer, case-insensitively', () => {
    expect(resolveColumns('wal', legacy)).toEqual({
      key: 'idem',
      ts: 'ts_ns',
      bytes: 'bytes',
      checksum: 'checksum',
    });
    expect(resolveColumns('t', ['Idempotency_Key', 'TS_NS', 'Envelope', 'SHA256'])).toEqual({
      key: 'Idempotency_Key',
      ts: 'TS_NS',
      bytes: 'Envelope',
      checksum: 'SHA256',
    });
  });

  it('takes names from --columns and names what it could not find', () => {
    expect(
      resolveColumns('t', ['k', 't', 'b', 'c'], parseColumnOverrides('key=k, ts=t,bytes=b,checksum=c')),
    ).toEqual({
      key: 'k',
      ts: 't',
      bytes: 'b',
      checksum: 'c',
    });
    expect(() => resolveColumns('t', ['idem', 'blob'])).toThrow(
      /no column for ts .*; bytes .*; checksum .*its columns are idem, blob/,
    );
    expect(() => resolveColumns('t', legacy, { bytes: 'payload' })).toThrow('bytes (column payload given)');
  });

  it('refuses a malformed --columns', () => {
    expect(() => parseColumnOverrides('key')).toThrow(InputError);
    expect(() => parseColumnOverrides('device=d')).toThrow(/roles key, ts, bytes, checksum/);
  });
});

describe('chooseTable', () => {
  const tables = [
    { name: 'meta', columns: ['k', 'v'] },
    { name: 'wal', columns: legacy },
  ];

  it('takes wal, else the only table that fits, else asks', () => {
    expect(chooseTable(tables, undefined).table).toBe('wal');
    expect(chooseTable([{ name: 'events', columns: legacy }, tables[0] as never], undefined).table).toBe(
      'events',
    );
    expect(() =>
      chooseTable(
        [
          { name: 'a', columns: legacy },
          { name: 'b', columns: legacy },
        ],
        undefined,
      ),
    ).toThrow('several tables look like a WAL (a, b); choose one with --table');
    expect(() => chooseTable([{ name: 'meta', columns: ['k'] }], undefined)).toThrow(
      /no table has the columns/,
    );
    expect(() => chooseTable(tables, 'nope')).toThrow('the file has no table nope; it has meta, wal');
  });
});
