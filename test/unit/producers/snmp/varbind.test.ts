import snmp from 'net-snmp';
import { describe, expect, it } from 'vitest';
import {
  counter64FromBytes,
  counter64ToBytes,
  mapVarbind,
  octetsToString,
} from '../../../../src/producers/snmp/index.ts';

const T = snmp.ObjectType;
const vb = (type: number, value: unknown) => ({ oid: '1.3.6.1.2.1.1.1.0', type, value });

describe('mapVarbind', () => {
  it('maps OctetString to string, keeping the text exactly', () => {
    expect(mapVarbind('string', vb(T.OctetString, Buffer.from('Linux vm 6.1 x86_64')))).toEqual({
      ok: true,
      value: { kind: 'string', value: 'Linux vm 6.1 x86_64' },
    });
    expect(mapVarbind('string', vb(T.OctetString, Buffer.alloc(0)))).toEqual({
      ok: true,
      value: { kind: 'string', value: '' },
    });
  });

  it('maps Integer, Gauge32 and TimeTicks to numeric, TimeTicks as centiseconds', () => {
    expect(mapVarbind('numeric', vb(T.Integer, -1))).toEqual({
      ok: true,
      value: { kind: 'numeric', value: -1 },
    });
    expect(mapVarbind('numeric', vb(T.Gauge, 4294967295))).toEqual({
      ok: true,
      value: { kind: 'numeric', value: 4294967295 },
    });
    expect(mapVarbind('numeric', vb(T.TimeTicks, 10907))).toEqual({
      ok: true,
      value: { kind: 'numeric', value: 10907 },
    });
  });

  it('maps Counter32 to a 32-bit counter and Counter64 to a 64-bit counter, as bigint', () => {
    expect(mapVarbind('counter', vb(T.Counter, 4294967295))).toEqual({
      ok: true,
      value: { kind: 'counter', value: 4294967295n, bits: 32 },
    });
    const big = 18446744073709551615n;
    expect(mapVarbind('counter', vb(T.Counter64, counter64ToBytes(big)))).toEqual({
      ok: true,
      value: { kind: 'counter', value: big, bits: 64 },
    });
  });

  it('reads UCD laLoad strings as numbers', () => {
    expect(mapVarbind('decimal', vb(T.OctetString, Buffer.from('0.83')))).toEqual({
      ok: true,
      value: { kind: 'numeric', value: 0.83 },
    });
    expect(mapVarbind('decimal', vb(T.OctetString, Buffer.from('12')))).toEqual({
      ok: true,
      value: { kind: 'numeric', value: 12 },
    });
    const bad = mapVarbind('decimal', vb(T.OctetString, Buffer.from('n/a')));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problem).toContain('not a decimal number');
  });

  it('reports exceptions and type mismatches instead of coercing', () => {
    expect(mapVarbind('numeric', vb(T.NoSuchObject, null))).toEqual({ ok: false, problem: 'NoSuchObject' });
    expect(mapVarbind('string', vb(T.NoSuchInstance, null))).toEqual({
      ok: false,
      problem: 'NoSuchInstance',
    });
    expect(mapVarbind('counter', vb(T.Gauge, 5))).toEqual({
      ok: false,
      problem: 'type mismatch: expected counter, agent sent Gauge',
    });
    expect(mapVarbind('numeric', vb(T.Counter, 5))).toEqual({
      ok: false,
      problem: 'type mismatch: expected numeric, agent sent Counter',
    });
  });
});

describe('Counter64 bytes', () => {
  it('reads BER content octets of any length as unsigned big-endian, exactly', () => {
    expect(counter64FromBytes(Buffer.alloc(0))).toBe(0n);
    expect(counter64FromBytes(Buffer.from([0x01]))).toBe(1n);
    // Above 2^53: a double would lose the low bits.
    expect(counter64FromBytes(Buffer.from('0020000000000001', 'hex'))).toBe(9007199254740993n);
    // BER puts a zero byte in front when the top bit is set; some agents send a fixed 8 bytes.
    expect(counter64FromBytes(Buffer.from('00ffffffffffffffff', 'hex'))).toBe(2n ** 64n - 1n);
    expect(counter64FromBytes(Buffer.from('ffffffffffffffff', 'hex'))).toBe(2n ** 64n - 1n);
    expect(() => counter64FromBytes(Buffer.from('010000000000000000', 'hex'))).toThrow(RangeError);
  });

  it('writes minimal BER content octets that read back the same', () => {
    for (const v of [0n, 1n, 127n, 128n, 255n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      const bytes = counter64ToBytes(v);
      expect(counter64FromBytes(bytes)).toBe(v);
      expect(bytes[0] ?? 0).toBeLessThan(0x80);
    }
    expect(counter64ToBytes(128n).toString('hex')).toBe('0080');
    expect(() => counter64ToBytes(2n ** 64n)).toThrow(RangeError);
  });
});

describe('octetsToString', () => {
  it('keeps valid UTF-8 and writes other bytes as hex', () => {
    expect(octetsToString(Buffer.from('größe'))).toBe('größe');
    expect(octetsToString(Buffer.from([0x22, 0x8c, 0xbd, 0xbb, 0x35, 0x86]))).toBe('0x228cbdbb3586');
  });
});
