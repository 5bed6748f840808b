/**
 * Varbind values as net-snmp decodes them -> the domain's MetricValue, exactly: Counter64 as an
 * unsigned bigint from its raw bytes, Counter32 as bigint, Integer/Gauge/TimeTicks as numbers
 * (all fit a double exactly), OctetString as text.
 */
import snmp from 'net-snmp';
import type { MetricValue } from '../../core/telemetry/index.ts';
import type { MetricType } from './types.ts';

/** A varbind as net-snmp hands it over: `type` is an ASN.1 tag from `snmp.ObjectType`. */
export interface RawVarbind {
  oid: string;
  type?: number | undefined;
  value?: unknown;
}

/** A mapped value, or why the varbind could not be mapped. */
export type MappedValue = { ok: true; value: MetricValue } | { ok: false; problem: string };

const T = snmp.ObjectType;
const MAX_UINT64 = (1n << 64n) - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Name of an ASN.1 varbind type, e.g. `Counter64`, for messages. */
export function typeName(type: number | undefined): string {
  if (type === undefined) return 'no type';
  const name = (T as unknown as Record<number, string | undefined>)[type];
  return name ?? `type ${type}`;
}

/** Whether the varbind is an exception (noSuchObject, noSuchInstance, endOfMibView). */
export function isException(vb: RawVarbind): boolean {
  return vb.type === T.NoSuchObject || vb.type === T.NoSuchInstance || vb.type === T.EndOfMibView;
}

/**
 * The unsigned value of a Counter64's content octets. net-snmp returns them as a Buffer of
 * however many bytes the agent sent (BER: minimal two's complement, so 9 bytes with a leading
 * zero above 2^63; some agents send a fixed 8). Read as unsigned big-endian.
 * @throws RangeError when the bytes hold more than 64 bits.
 */
export function counter64FromBytes(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  if (value > MAX_UINT64) throw new RangeError(`Counter64 of ${bytes.length} bytes exceeds 64 bits`);
  return value;
}

/**
 * Content octets of a Counter64 in BER: minimal length, with a leading zero byte when the top
 * bit is set so that a strict decoder does not read a negative number. The inverse of
 * {@link counter64FromBytes}; the simulator serves counters with it.
 */
export function counter64ToBytes(value: bigint): Buffer {
  if (value < 0n || value > MAX_UINT64) throw new RangeError(`Counter64 out of range: ${value}`);
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return Buffer.from(hex, 'hex');
}

/** An OctetString's bytes as text: UTF-8 when valid, else `0x` and lower-case hex. */
export function octetsToString(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return `0x${Buffer.from(bytes).toString('hex')}`;
  }
}

/** Decimal numbers as UCD-SNMP-MIB prints them in strings: `0.83`, `12`, `-1.5`. */
const decimalPattern = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$/;

/** Maps one varbind to the value of a metric of the given type. */
export function mapVarbind(type: MetricType, vb: RawVarbind): MappedValue {
  if (isException(vb)) return { ok: false, problem: typeName(vb.type) };
  const wire = vb.type;
  const mismatch = (): MappedValue => ({
    ok: false,
    problem: `type mismatch: expected ${type}, agent sent ${typeName(wire)}`,
  });
  switch (type) {
    case 'string':
      if (wire === T.OctetString) return { ok: true, value: { kind: 'string', value: asText(vb.value) } };
      if (wire === T.OID || wire === T.IpAddress) {
        return { ok: true, value: { kind: 'string', value: String(vb.value) } };
      }
      return mismatch();
    case 'numeric':
      if (wire === T.Integer || wire === T.Gauge || wire === T.TimeTicks) {
        return typeof vb.value === 'number' && Number.isInteger(vb.value)
          ? { ok: true, value: { kind: 'numeric', value: vb.value } }
          : { ok: false, problem: `malformed ${typeName(wire)} value` };
      }
      return mismatch();
    case 'decimal': {
      if (wire !== T.OctetString) return mismatch();
      const text = asText(vb.value);
      return decimalPattern.test(text)
        ? { ok: true, value: { kind: 'numeric', value: Number(text) } }
        : { ok: false, problem: `not a decimal number: ${JSON.stringify(text.slice(0, 40))}` };
    }
    case 'counter':
      if (wire === T.Counter) {
        return typeof vb.value === 'number' && Number.isInteger(vb.value) && vb.value >= 0
          ? { ok: true, value: { kind: 'counter', value: BigInt(vb.value), bits: 32 } }
          : { ok: false, problem: 'malformed Counter32 value' };
      }
      if (wire === T.Counter64) {
        if (!(vb.value instanceof Uint8Array)) return { ok: false, problem: 'malformed Counter64 value' };
        try {
          return { ok: true, value: { kind: 'counter', value: counter64FromBytes(vb.value), bits: 64 } };
        } catch (err) {
          return { ok: false, problem: (err as Error).message };
        }
      }
      return mismatch();
  }
}

/** A varbind as a label value: text, a number or an OID as written; `''` for exceptions. */
export function labelValue(vb: RawVarbind | undefined): string {
  if (vb === undefined || isException(vb)) return '';
  if (vb.type === T.Counter64 && vb.value instanceof Uint8Array)
    return counter64FromBytes(vb.value).toString();
  return asText(vb.value);
}

function asText(value: unknown): string {
  if (value instanceof Uint8Array) return octetsToString(value);
  return value === null || value === undefined ? '' : String(value);
}
