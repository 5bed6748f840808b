/**
 * Protobuf text format (what `protoc --decode` prints) of message bytes, written from the wire
 * with protobufjs reflection for names and types.
 *
 * Why from the wire and not from a decoded message: decoding drops fields this reader does not
 * know (a newer producer's additions) and loses their order; an inspector must show the bytes as
 * they are. Known fields print by their .proto name (`metric_name: "sys_uptime"`), nested
 * messages as blocks, enums by name, 64-bit integers exactly; unknown fields print by number as
 * `protoc --decode` does (`99: 42`); bytes that do not parse end the block with a `# malformed`
 * comment instead of an exception.
 */
import protobuf from 'protobufjs';
import { envelopeSchema } from '../../core/envelope/index.ts';
import { featuresSchema } from '../../core/features/index.ts';

/** Reflection types of the two contracts, field names as written in the .proto files. */
export const textFormatTypes: { envelope: protobuf.Type; featureRow: protobuf.Type } = (() => {
  const load = (source: string, message: string) => {
    const root = protobuf.parse(source, { keepCase: true }).root;
    root.resolveAll();
    return root.lookupType(message);
  };
  return {
    envelope: load(envelopeSchema.source, envelopeSchema.message),
    featureRow: load(featuresSchema.source, featuresSchema.message),
  };
})();

type RawValue = bigint | Uint8Array;

interface RawField {
  number: number;
  wireType: 0 | 1 | 2 | 5;
  value: RawValue;
}

type ParseResult = { ok: true; fields: RawField[] } | { ok: false; fields: RawField[]; error: string };

/** Unsigned varint as an exact bigint; undefined when truncated or longer than 10 bytes. */
function readVarint(bytes: Uint8Array, offset: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return { value: value & 0xffff_ffff_ffff_ffffn, next: offset + i + 1 };
  }
  return undefined;
}

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  return value;
}

/** Splits bytes into fields (one level); stops at the first malformed field and says where. */
function parseFields(bytes: Uint8Array): ParseResult {
  const fields: RawField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset);
    if (tag === undefined) return { ok: false, fields, error: `bad tag at byte ${offset}` };
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (number < 1 || number > 536_870_911) {
      return { ok: false, fields, error: `field number ${number} at byte ${offset}` };
    }
    let next = tag.next;
    let value: RawValue;
    if (wireType === 0) {
      const v = readVarint(bytes, next);
      if (v === undefined) return { ok: false, fields, error: `bad varint of field ${number}` };
      value = v.value;
      next = v.next;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (next + size > bytes.length) return { ok: false, fields, error: `field ${number} is truncated` };
      value = littleEndian(bytes.subarray(next, next + size));
      next += size;
    } else if (wireType === 2) {
      const length = readVarint(bytes, next);
      if (length === undefined || length.next + Number(length.value) > bytes.length) {
        return { ok: false, fields, error: `field ${number} is truncated` };
      }
      value = bytes.subarray(length.next, length.next + Number(length.value));
      next = length.next + Number(length.value);
    } else {
      return { ok: false, fields, error: `wire type ${wireType} of field ${number} at byte ${offset}` };
    }
    fields.push({ number, wireType, value } as RawField);
    offset = next;
  }
  return { ok: true, fields };
}

/**
 * A string or bytes value as a text-format literal: printable ASCII as is, `"` and `\` escaped,
 * everything else as a three-digit octal escape (protoc's spelling). `utf8` keeps the non-ASCII
 * characters of a valid UTF-8 string readable.
 */
export function quoteBytes(bytes: Uint8Array, utf8 = false): string {
  if (utf8) {
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      let out = '"';
      for (const ch of text) {
        const code = ch.codePointAt(0) as number;
        if (ch === '"') out += '\\"';
        else if (ch === '\\') out += '\\\\';
        else if (ch === '\n') out += '\\n';
        else if (ch === '\r') out += '\\r';
        else if (ch === '\t') out += '\\t';
        else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, '0')}`;
        else out += ch;
      }
      return `${out}"`;
    } catch {
      // Not UTF-8: fall through to the byte form, which is exact.
    }
  }
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return String(value);
}

function float64(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits, true);
  return view.getFloat64(0, true);
}

function float32(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, Number(bits), true);
  return view.getFloat32(0, true);
}

const varintTypes = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'enum']);
const fixed64Types = new Set(['double', 'fixed64', 'sfixed64']);
const fixed32Types = new Set(['float', 'fixed32', 'sfixed32']);

/** A scalar from its raw value; undefined when the wire type does not fit the declared type. */
function scalar(type: string, field: RawField, enumType: protobuf.Enum | undefined): string | undefined {
  const { value } = field;
  if (typeof value === 'bigint') {
    const expected = varintTypes.has(type) ? 0 : fixed64Types.has(type) ? 1 : fixed32Types.has(type) ? 5 : -1;
    if (expected !== field.wireType) return undefined;
    switch (type) {
      case 'int32':
        return String(BigInt.asIntN(32, value));
      case 'int64':
      case 'sfixed64':
        return String(BigInt.asIntN(64, value));
      case 'uint32':
        return String(BigInt.asUintN(32, value));
      case 'uint64':
      case 'fixed64':
      case 'fixed32':
        return String(value);
      case 'sint32':
      case 'sint64':
        return String((value >> 1n) ^ -(value & 1n));
      case 'sfixed32':
        return String(BigInt.asIntN(32, value));
      case 'bool':
        return value === 0n ? 'false' : 'true';
      case 'double':
        return formatDouble(float64(value));
      case 'float':
        return formatDouble(float32(value));
      case 'enum': {
        const number = Number(BigInt.asIntN(32, value));
        return enumType?.valuesById[number] ?? String(number);
      }
      default:
        return undefined;
    }
  }
  if (type === 'string') return quoteBytes(value, true);
  if (type === 'bytes') return quoteBytes(value);
  return undefined;
}

/** Splits a packed repeated scalar into single raw values of its element wire type. */
function unpack(type: string, bytes: Uint8Array): RawField[] | undefined {
  const out: RawField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (varintTypes.has(type)) {
      const v = readVarint(bytes, offset);
      if (v === undefined) return undefined;
      out.push({ number: 0, wireType: 0, value: v.value });
      offset = v.next;
    } else {
      const size = fixed64Types.has(type) ? 8 : fixed32Types.has(type) ? 4 : 0;
      if (size === 0 || offset + size > bytes.length) return undefined;
      out.push({
        number: 0,
        wireType: size === 8 ? 1 : 5,
        value: littleEndian(bytes.subarray(offset, offset + size)),
      });
      offset += size;
    }
  }
  return out;
}

function unknownField(field: RawField): string {
  const { value } = field;
  if (typeof value !== 'bigint') return quoteBytes(value);
  if (field.wireType === 0) return String(value);
  return `0x${value.toString(16).padStart(field.wireType === 1 ? 16 : 8, '0')}`;
}

function printMessage(
  bytes: Uint8Array,
  type: protobuf.Type | undefined,
  indent: string,
  out: string[],
): void {
  const parsed = parseFields(bytes);
  for (const field of parsed.fields) {
    const declared = type?.fieldsById[field.number];
    if (declared === undefined) {
      out.push(`${indent}${field.number}: ${unknownField(field)}`);
      continue;
    }
    const resolved = declared.resolvedType;
    if (resolved instanceof protobuf.Type && !declared.map) {
      if (typeof field.value === 'bigint') {
        out.push(
          `${indent}${field.number}: ${unknownField(field)}  # wire type ${field.wireType} for message ${declared.name}`,
        );
        continue;
      }
      out.push(`${indent}${declared.name} {`);
      printMessage(field.value, resolved, `${indent}  `, out);
      out.push(`${indent}}`);
      continue;
    }
    const enumType = resolved instanceof protobuf.Enum ? resolved : undefined;
    const scalarType = enumType === undefined ? declared.type : 'enum';
    if (declared.map) {
      // The contracts have no map fields; print the entry as raw bytes rather than guess.
      out.push(`${indent}${declared.name}: ${unknownField(field)}  # map entry`);
      continue;
    }
    if (field.wireType === 2 && scalarType !== 'string' && scalarType !== 'bytes' && declared.repeated) {
      const items = unpack(scalarType, field.value as Uint8Array);
      if (items !== undefined) {
        for (const item of items)
          out.push(`${indent}${declared.name}: ${scalar(scalarType, item, enumType)}`);
        continue;
      }
    }
    const text = scalar(scalarType, field, enumType);
    if (text === undefined) {
      out.push(
        `${indent}${field.number}: ${unknownField(field)}  # wire type ${field.wireType} does not fit ${declared.name} (${scalarType})`,
      );
    } else {
      out.push(`${indent}${declared.name}: ${text}`);
    }
  }
  if (!parsed.ok) out.push(`${indent}# malformed: ${parsed.error}; the rest is not shown`);
}

/**
 * The text format of protobuf bytes as a message of `type`, one field per line, nested blocks
 * indented by two spaces. Never throws for bad bytes.
 */
export function toTextFormat(bytes: Uint8Array, type: protobuf.Type): string {
  const out: string[] = [];
  printMessage(bytes, type, '', out);
  return out.join('\n');
}
