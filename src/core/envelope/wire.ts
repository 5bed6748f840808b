/**
 * The protobuf wire format, read at the top level of a message only, without decoding it: enough
 * to find the signature field and cut it out of the bytes as received. Signatures are checked over
 * those bytes, never over a re-encoding (a re-encode drops fields a newer producer added).
 *
 * A field is a varint tag (field number << 3 | wire type) followed by a value:
 *   0 varint, 1 eight bytes, 2 varint length + that many bytes, 5 four bytes.
 * Wire types 3 and 4 (groups, deprecated since proto2) and 6, 7 (undefined) are refused.
 */
import { EnvelopeFailure } from './types.ts';

/** Wire types the scanner accepts. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  Fixed32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** One top-level field, as offsets into the scanned bytes. */
export interface WireField {
  fieldNumber: number;
  wireType: WireType;
  /** Offset of the first byte of the tag. */
  start: number;
  /** Offset of the first byte of the value; for length-delimited fields, after the length. */
  valueStart: number;
  /** Offset one past the last byte of the field. */
  end: number;
}

/** Why bytes are not a well-formed sequence of protobuf fields. */
export type ScanFailure =
  | typeof EnvelopeFailure.Truncated
  | typeof EnvelopeFailure.VarintOverflow
  | typeof EnvelopeFailure.GroupWireType
  | typeof EnvelopeFailure.InvalidWireType
  | typeof EnvelopeFailure.InvalidFieldNumber;

/** Result of {@link scanFields}. */
export type ScanResult =
  | { ok: true; fields: WireField[] }
  | { ok: false; reason: ScanFailure; offset: number; detail: string };

/** The largest field number protobuf allows (2^29 - 1). */
export const MAX_FIELD_NUMBER = 536_870_911;

type Varint = { value: number; next: number };

/**
 * Reads an unsigned varint. `value` is exact up to 2^53, which covers every tag and length that
 * can be valid here. More than 10 bytes, or a 10th byte carrying more than bit 63, is an overflow.
 */
export function readVarint(
  bytes: Uint8Array,
  offset: number,
): Varint | typeof EnvelopeFailure.Truncated | typeof EnvelopeFailure.VarintOverflow {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    const position = offset + i;
    if (position >= bytes.length) return EnvelopeFailure.Truncated;
    const byte = bytes[position] as number;
    if (i === 9 && byte > 1) return EnvelopeFailure.VarintOverflow;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return { value, next: position + 1 };
  }
  return EnvelopeFailure.VarintOverflow;
}

const fail = (reason: ScanFailure, offset: number, detail: string): ScanResult => ({
  ok: false,
  reason,
  offset,
  detail,
});

/** Splits bytes into their top-level fields, or says why they are not well formed. */
export function scanFields(bytes: Uint8Array): ScanResult {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    const tag = readVarint(bytes, offset);
    if (typeof tag === 'string') return fail(tag, start, `tag at offset ${start}`);
    if (tag.value > 0xffff_ffff) {
      return fail(EnvelopeFailure.InvalidFieldNumber, start, `tag at offset ${start} exceeds 32 bits`);
    }
    const fieldNumber = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) {
      return fail(
        EnvelopeFailure.InvalidFieldNumber,
        start,
        `field number ${fieldNumber} at offset ${start}`,
      );
    }
    let valueStart = tag.next;
    let end: number;
    switch (wireType) {
      case WireType.Varint: {
        const value = readVarint(bytes, valueStart);
        if (typeof value === 'string') return fail(value, valueStart, `varint of field ${fieldNumber}`);
        end = value.next;
        break;
      }
      case WireType.Fixed64:
        end = valueStart + 8;
        break;
      case WireType.Fixed32:
        end = valueStart + 4;
        break;
      case WireType.LengthDelimited: {
        const length = readVarint(bytes, valueStart);
        if (typeof length === 'string') return fail(length, valueStart, `length of field ${fieldNumber}`);
        valueStart = length.next;
        end = valueStart + length.value;
        break;
      }
      case 3:
      case 4:
        return fail(
          EnvelopeFailure.GroupWireType,
          start,
          `group (wire type ${wireType}) in field ${fieldNumber}`,
        );
      default:
        return fail(EnvelopeFailure.InvalidWireType, start, `wire type ${wireType} in field ${fieldNumber}`);
    }
    if (end > bytes.length) {
      return fail(
        EnvelopeFailure.Truncated,
        start,
        `field ${fieldNumber} at offset ${start} needs ${end - bytes.length} more bytes`,
      );
    }
    fields.push({ fieldNumber, wireType: wireType as WireType, start, valueStart, end });
    offset = end;
  }
  return { ok: true, fields };
}

/** Field number of `UniversalEnvelope.signature`. */
export const SIGNATURE_FIELD = 15;
/** Field number of `UniversalEnvelope.signing_key_id`. */
export const SIGNING_KEY_ID_FIELD = 4;
/** Tag byte of field 15, wire type 2: (15 << 3) | 2. */
export const SIGNATURE_TAG = 0x7a;
/** Ed25519 signatures are 64 bytes; 64 < 128, so the length is the single byte 0x40. */
export const SIGNATURE_LENGTH = 64;

/** Result of {@link splitSignature}. */
export type SplitResult =
  | {
      ok: true;
      /** The 64 signature bytes (a view into the input). */
      signature: Uint8Array;
      /** The received bytes without the signature field: what was signed (may be a view into the input). */
      signingInput: Uint8Array;
      /** `signing_key_id` read from the bytes (the last occurrence, as protobuf parsers do). */
      signingKeyId: string | undefined;
    }
  | { ok: false; reason: EnvelopeFailure; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Separates the signature from the bytes it signs. Requires exactly one top-level field 15,
 * encoded canonically as `0x7a 0x40` + 64 bytes; it may sit anywhere among the top-level fields.
 * The signing input is every other byte, in the order received.
 */
export function splitSignature(bytes: Uint8Array): SplitResult {
  const scan = scanFields(bytes);
  if (!scan.ok) return { ok: false, reason: scan.reason, detail: scan.detail };
  const signatures = scan.fields.filter((f) => f.fieldNumber === SIGNATURE_FIELD);
  if (signatures.length === 0) {
    return { ok: false, reason: EnvelopeFailure.SignatureMissing, detail: 'no field 15' };
  }
  if (signatures.length > 1) {
    return {
      ok: false,
      reason: EnvelopeFailure.SignatureDuplicated,
      detail: `field 15 appears ${signatures.length} times`,
    };
  }
  const field = signatures[0] as WireField;
  if (field.wireType !== WireType.LengthDelimited) {
    return {
      ok: false,
      reason: EnvelopeFailure.SignatureMalformed,
      detail: `field 15 has wire type ${field.wireType}`,
    };
  }
  const length = field.end - field.valueStart;
  if (length !== SIGNATURE_LENGTH) {
    return { ok: false, reason: EnvelopeFailure.SignatureMalformed, detail: `signature is ${length} bytes` };
  }
  // A longer (non-minimal) tag or length would still parse, but would let the same signed content
  // travel as different bytes; only the canonical two-byte header is accepted.
  if (field.valueStart - field.start !== 2 || bytes[field.start] !== SIGNATURE_TAG) {
    return {
      ok: false,
      reason: EnvelopeFailure.SignatureMalformed,
      detail: 'field 15 header is not the canonical 0x7a 0x40',
    };
  }
  // Producers append the signature last, so the signing input is usually a prefix: no copy.
  let signingInput: Uint8Array;
  if (field.end === bytes.length) {
    signingInput = bytes.subarray(0, field.start);
  } else {
    signingInput = new Uint8Array(bytes.length - (field.end - field.start));
    signingInput.set(bytes.subarray(0, field.start), 0);
    signingInput.set(bytes.subarray(field.end), field.start);
  }

  let signingKeyId: string | undefined;
  for (const f of scan.fields) {
    if (f.fieldNumber !== SIGNING_KEY_ID_FIELD) continue;
    if (f.wireType !== WireType.LengthDelimited) {
      return { ok: false, reason: EnvelopeFailure.KeyIdMissing, detail: 'field 4 is not length-delimited' };
    }
    try {
      signingKeyId = utf8.decode(bytes.subarray(f.valueStart, f.end));
    } catch {
      return { ok: false, reason: EnvelopeFailure.KeyIdMissing, detail: 'field 4 is not UTF-8' };
    }
  }
  return { ok: true, signature: bytes.subarray(field.valueStart, field.end), signingInput, signingKeyId };
}

/**
 * Appends the signature field to unsigned envelope bytes: `0x7a 0x40` + the 64 signature bytes.
 * @throws RangeError when the signature is not 64 bytes or the bytes already hold a field 15
 *   (a programming error, not bad input from the network).
 */
export function appendSignature(unsigned: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_LENGTH) {
    throw new RangeError(`an Ed25519 signature is ${SIGNATURE_LENGTH} bytes, got ${signature.length}`);
  }
  const scan = scanFields(unsigned);
  if (!scan.ok) throw new RangeError(`unsigned envelope bytes are malformed: ${scan.detail}`);
  if (scan.fields.some((f) => f.fieldNumber === SIGNATURE_FIELD)) {
    throw new RangeError('the envelope bytes already hold a signature field');
  }
  const out = new Uint8Array(unsigned.length + 2 + SIGNATURE_LENGTH);
  out.set(unsigned, 0);
  out[unsigned.length] = SIGNATURE_TAG;
  out[unsigned.length + 1] = SIGNATURE_LENGTH;
  out.set(signature, unsigned.length + 2);
  return out;
}
