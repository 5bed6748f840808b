/**
 * The Confluent wire format, checked byte by byte against the specification (Confluent docs,
 * "Wire format"; the protobuf serializer's message-index encoding), never against
 * @kafkajs/confluent-schema-registry. Expected arrays are written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../../../src/core/envelope/index.ts';
import {
  encodeMessageIndexes,
  frame,
  protoMessageIndexes,
  UnframeFailure,
  unframe,
} from '../../../../src/core/registry/index.ts';

const payload = Uint8Array.of(0x08, 0x01); // field 1 varint 1: a tiny protobuf message
const bytes = (...b: number[]) => Uint8Array.from(b);

describe('frame', () => {
  it('writes [0] as the single byte 0 (first message in the file)', () => {
    expect(frame(1, [0], payload)).toEqual(bytes(0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x01));
  });

  it('writes the schema id big-endian in bytes 1-4', () => {
    expect(frame(0x12345678, [0], payload)).toEqual(bytes(0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x08, 0x01));
    expect(frame(256, [0], payload)).toEqual(bytes(0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x08, 0x01));
    expect(frame(0x7fffffff, [0], new Uint8Array())).toEqual(bytes(0x00, 0x7f, 0xff, 0xff, 0xff, 0x00));
  });

  it('writes other arrays as zigzag varints: count, then each index', () => {
    // [1]: count 1 → zigzag 2, index 1 → zigzag 2
    expect(frame(7, [1], payload)).toEqual(bytes(0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x02, 0x08, 0x01));
    // [0, 2]: count 2 → 4, 0 → 0, 2 → 4 (a nested message: 3rd nested type of the 1st message)
    expect(frame(7, [0, 2], payload)).toEqual(
      bytes(0x00, 0x00, 0x00, 0x00, 0x07, 0x04, 0x00, 0x04, 0x08, 0x01),
    );
    // [1, 0]: 0 is not special inside a longer array
    expect(frame(7, [1, 0], payload)).toEqual(
      bytes(0x00, 0x00, 0x00, 0x00, 0x07, 0x04, 0x02, 0x00, 0x08, 0x01),
    );
    // [64]: zigzag 128 needs two varint bytes, 0x80 0x01
    expect(frame(7, [64], payload)).toEqual(
      bytes(0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x80, 0x01, 0x08, 0x01),
    );
    // [63]: zigzag 126 still fits one byte
    expect(frame(7, [63], payload)).toEqual(bytes(0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x7e, 0x08, 0x01));
  });

  it('refuses arrays and ids the format cannot carry', () => {
    expect(() => frame(1, [], payload)).toThrow(RangeError);
    expect(() => frame(1, [-1], payload)).toThrow(RangeError);
    expect(() => frame(1, [1.5], payload)).toThrow(RangeError);
    expect(() => frame(-1, [0], payload)).toThrow(RangeError);
    expect(() => frame(2 ** 31, [0], payload)).toThrow(RangeError);
  });

  it('encodes the largest index in five varint bytes', () => {
    // zigzag(2^31 - 1) = 2^32 - 2 = 0xfffffffe → fe ff ff ff 0f
    expect(encodeMessageIndexes([0x7fffffff])).toEqual(bytes(0x02, 0xfe, 0xff, 0xff, 0xff, 0x0f));
  });
});

describe('unframe', () => {
  it('reads what frame writes', () => {
    for (const indexes of [[0], [1], [0, 2], [3, 1, 4], [64], [0x7fffffff]]) {
      const result = unframe(frame(4242, indexes, payload));
      expect(result).toMatchObject({ ok: true, schemaId: 4242, messageIndexes: indexes });
      if (result.ok) expect(result.payload).toEqual(payload);
    }
  });

  it('reads hand-written frames, including the long form of [0]', () => {
    expect(unframe(bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x08, 0x01))).toMatchObject({
      ok: true,
      schemaId: 5,
      messageIndexes: [0],
      headerLength: 6,
    });
    // count 1, index 0: the unoptimised spelling of [0] is valid too
    expect(unframe(bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x00, 0x08, 0x01))).toMatchObject({
      ok: true,
      messageIndexes: [0],
      headerLength: 7,
    });
    // an empty payload is a valid protobuf message (every field default)
    expect(unframe(bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x00))).toMatchObject({
      ok: true,
      payload: new Uint8Array(),
    });
    // schema ids with the high bit set are read unsigned
    expect(unframe(bytes(0x00, 0x80, 0x00, 0x00, 0x01, 0x00))).toMatchObject({
      ok: true,
      schemaId: 0x80000001,
    });
  });

  it('says why bytes are not a frame, without throwing', () => {
    const cases: [Uint8Array, UnframeFailure][] = [
      [bytes(), UnframeFailure.Truncated],
      [bytes(0x00, 0x00, 0x00, 0x00, 0x05), UnframeFailure.Truncated], // no index array
      [bytes(0x01, 0x00, 0x00, 0x00, 0x05, 0x00), UnframeFailure.WrongMagic],
      [bytes(0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d), UnframeFailure.WrongMagic], // JSON
      [bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x03), UnframeFailure.BadIndexArray], // count -2
      [bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x01), UnframeFailure.BadIndexArray], // index -1
      [bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x04, 0x02), UnframeFailure.Truncated], // 2 indexes, 1 byte
      [bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x80), UnframeFailure.Truncated], // varint cut off
      [
        bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
        UnframeFailure.BadIndexArray,
      ],
      [bytes(0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0xff, 0xff, 0xff, 0xff, 0x7f), UnframeFailure.BadIndexArray],
    ];
    for (const [input, reason] of cases) {
      const result = unframe(input);
      expect(result.ok, Buffer.from(input).toString('hex')).toBe(false);
      if (!result.ok) expect(result.reason, Buffer.from(input).toString('hex')).toBe(reason);
    }
  });
});

describe('message indexes from a .proto file', () => {
  const proto = `syntax = "proto3";
package a.b;
message First { message Inner {} enum E { X = 0; } message Second { message Deep {} } }
enum Top { Y = 0; }
message Next {}`;

  it('counts messages only, at each nesting level, in declaration order', () => {
    expect(protoMessageIndexes(proto, 'a.b.First')).toEqual([0]);
    expect(protoMessageIndexes(proto, 'a.b.Next')).toEqual([1]);
    expect(protoMessageIndexes(proto, 'a.b.First.Inner')).toEqual([0, 0]);
    expect(protoMessageIndexes(proto, 'a.b.First.Second.Deep')).toEqual([0, 1, 0]);
    expect(protoMessageIndexes(proto, '.a.b.Next')).toEqual([1]);
    expect(() => protoMessageIndexes(proto, 'a.b.Missing')).toThrow(/defines no message/);
    expect(() => protoMessageIndexes(proto, 'other.Next')).toThrow(/not in package a\.b/);
    expect(() => protoMessageIndexes(proto, 'a.b.Top')).toThrow(/defines no message/);
  });

  it('puts UniversalEnvelope at [0] of the telemetry contract', () => {
    expect(envelopeSchema.message).toBe('amoskys.telemetry.v1.UniversalEnvelope');
    expect(envelopeSchema.messageIndexes).toEqual([0]);
    expect(frame(9, envelopeSchema.messageIndexes, payload).subarray(0, 6)).toEqual(
      bytes(0x00, 0x00, 0x00, 0x00, 0x09, 0x00),
    );
  });
});
