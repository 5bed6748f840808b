/**
 * The top-level wire scanner and the signature split, on hand-written bytes (test/helpers/protobuf.ts),
 * independent of protobufjs.
 */
import { describe, expect, it } from 'vitest';
import {
  appendSignature,
  EnvelopeFailure,
  readVarint,
  scanFields,
  splitSignature,
} from '../../../../src/core/envelope/index.ts';
import { bytesField, message, stringField, tag, varint, varintField } from '../../../helpers/protobuf.ts';

const signature = Array.from({ length: 64 }, (_, i) => i);
const signatureField = [0x7a, 0x40, ...signature];

describe('readVarint', () => {
  it('reads 1- to 10-byte varints and refuses longer or wider ones', () => {
    expect(readVarint(Uint8Array.of(0x00), 0)).toEqual({ value: 0, next: 1 });
    expect(readVarint(Uint8Array.of(0xac, 0x02), 0)).toEqual({ value: 300, next: 2 });
    // 2^64 - 1: nine 0xff and a final 0x01
    const max = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    expect(readVarint(max, 0)).toMatchObject({ next: 10 });
    const wide = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
    expect(readVarint(wide, 0)).toBe(EnvelopeFailure.VarintOverflow);
    const long = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    expect(readVarint(long, 0)).toBe(EnvelopeFailure.VarintOverflow);
    expect(readVarint(Uint8Array.of(0x80, 0x80), 0)).toBe(EnvelopeFailure.Truncated);
  });
});

describe('scanFields', () => {
  it('reports each top-level field with its offsets, for all four wire types', () => {
    const bytes = message(
      varintField(1, 1), // 08 01
      [...tag(2, 1), 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
      stringField(3, 'ab'), // 1a 02 61 62
      [...tag(4, 5), 9, 9, 9, 9], // fixed32
    );
    const scan = scanFields(bytes);
    expect(scan).toEqual({
      ok: true,
      fields: [
        { fieldNumber: 1, wireType: 0, start: 0, valueStart: 1, end: 2 },
        { fieldNumber: 2, wireType: 1, start: 2, valueStart: 3, end: 11 },
        { fieldNumber: 3, wireType: 2, start: 11, valueStart: 13, end: 15 },
        { fieldNumber: 4, wireType: 5, start: 15, valueStart: 16, end: 20 },
      ],
    });
    expect(scanFields(new Uint8Array())).toEqual({ ok: true, fields: [] });
  });

  it('accepts the largest field number and non-minimal varints (the protobuf spec allows them)', () => {
    expect(scanFields(message(varintField(536_870_911, 5)))).toMatchObject({ ok: true });
    // field 1, value 1 written as 0x81 0x00
    expect(scanFields(Uint8Array.of(0x08, 0x81, 0x00))).toMatchObject({ ok: true });
  });

  it.each([
    ['truncated varint value', Uint8Array.of(0x08, 0x80), EnvelopeFailure.Truncated],
    ['truncated fixed64', Uint8Array.of(0x09, 1, 2, 3), EnvelopeFailure.Truncated],
    ['truncated fixed32', Uint8Array.of(0x0d, 1, 2), EnvelopeFailure.Truncated],
    ['length beyond the end', Uint8Array.of(0x0a, 0x05, 0x61), EnvelopeFailure.Truncated],
    ['huge length', Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), EnvelopeFailure.Truncated],
    ['truncated tag', Uint8Array.of(0x80), EnvelopeFailure.Truncated],
    ['start group', Uint8Array.of(0x0b, 0x0c), EnvelopeFailure.GroupWireType],
    ['end group', Uint8Array.of(0x0c), EnvelopeFailure.GroupWireType],
    ['wire type 6', Uint8Array.of(0x0e, 0x00), EnvelopeFailure.InvalidWireType],
    ['wire type 7', Uint8Array.of(0x0f, 0x00), EnvelopeFailure.InvalidWireType],
    ['field number 0', Uint8Array.of(0x02, 0x00), EnvelopeFailure.InvalidFieldNumber],
    ['field number 2^29', Uint8Array.from(varintField(536_870_912, 0)), EnvelopeFailure.InvalidFieldNumber],
    ['tag over 32 bits', Uint8Array.from([...varint(2n ** 40n), 0]), EnvelopeFailure.InvalidFieldNumber],
    [
      'overflowing varint value',
      Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
      EnvelopeFailure.VarintOverflow,
    ],
    [
      '11-byte varint',
      Uint8Array.of(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
      EnvelopeFailure.VarintOverflow,
    ],
  ])('refuses %s', (_, bytes, reason) => {
    expect(scanFields(bytes)).toMatchObject({ ok: false, reason });
  });
});

describe('splitSignature', () => {
  const header = message(varintField(1, 1), stringField(3, 'dev/60/1'), stringField(4, 'key-1'));

  it('separates the signature from the bytes it signs and reads the key id', () => {
    const split = splitSignature(message(header, signatureField));
    expect(split).toMatchObject({ ok: true, signingKeyId: 'key-1' });
    if (!split.ok) return;
    expect(Array.from(split.signature)).toEqual(signature);
    expect(split.signingInput).toEqual(header);
  });

  it('cuts the signature out wherever it sits, keeping the other bytes in their received order', () => {
    const tail = message(varintField(99, 7), bytesField(6, [1, 2, 3]));
    const split = splitSignature(message(header, signatureField, tail));
    expect(split.ok).toBe(true);
    if (split.ok) expect(split.signingInput).toEqual(message(header, tail));
  });

  it('uses the last signing_key_id, as protobuf parsers do', () => {
    const split = splitSignature(message(stringField(4, 'first'), header, signatureField));
    expect(split).toMatchObject({ ok: true, signingKeyId: 'key-1' });
  });

  it.each([
    ['no signature', message(header), EnvelopeFailure.SignatureMissing],
    ['two signatures', message(header, signatureField, signatureField), EnvelopeFailure.SignatureDuplicated],
    ['signature as a varint', message(header, varintField(15, 1)), EnvelopeFailure.SignatureMalformed],
    [
      '63-byte signature',
      message(header, bytesField(15, signature.slice(1))),
      EnvelopeFailure.SignatureMalformed,
    ],
    [
      '65-byte signature',
      message(header, bytesField(15, [...signature, 0])),
      EnvelopeFailure.SignatureMalformed,
    ],
    [
      'non-minimal tag 0xfa 0x00',
      message(header, [0xfa, 0x00, 0x40, ...signature]),
      EnvelopeFailure.SignatureMalformed,
    ],
    [
      'non-minimal length 0xc0 0x00',
      message(header, [0x7a, 0xc0, 0x00, ...signature]),
      EnvelopeFailure.SignatureMalformed,
    ],
    ['truncated signature', message(header, signatureField).subarray(0, 40), EnvelopeFailure.Truncated],
    ['a group before it', message(header, [0x1b, 0x1c], signatureField), EnvelopeFailure.GroupWireType],
    ['key id as a varint', message(varintField(4, 1), signatureField), EnvelopeFailure.KeyIdMissing],
    ['key id not UTF-8', message(bytesField(4, [0xff, 0xfe]), signatureField), EnvelopeFailure.KeyIdMissing],
  ])('refuses %s', (_, bytes, reason) => {
    expect(splitSignature(bytes)).toMatchObject({ ok: false, reason });
  });

  it('does not require a key id (verification reports it missing)', () => {
    expect(splitSignature(message(varintField(1, 1), signatureField))).toMatchObject({
      ok: true,
      signingKeyId: undefined,
    });
  });
});

describe('appendSignature', () => {
  it('appends 0x7a 0x40 and the 64 bytes', () => {
    const header = message(varintField(1, 1));
    expect(appendSignature(header, Uint8Array.from(signature))).toEqual(message(header, signatureField));
  });

  it('refuses a wrong-size signature or bytes already signed', () => {
    expect(() => appendSignature(new Uint8Array(), new Uint8Array(63))).toThrow(RangeError);
    expect(() => appendSignature(message(signatureField), Uint8Array.from(signature))).toThrow(/already/);
    expect(() => appendSignature(Uint8Array.of(0x0b), Uint8Array.from(signature))).toThrow(/malformed/);
  });
});
