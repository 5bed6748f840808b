/**
 * The Confluent Schema Registry wire format for protobuf values, implemented from the
 * specification (docs.confluent.io, "Wire format"), not from @kafkajs/confluent-schema-registry,
 * whose protobuf message-index handling is known to be wrong (docs/envelope.md, "Interop").
 *
 *   byte 0       magic byte 0
 *   bytes 1-4    schema id, 32-bit big-endian
 *   then         message-index array: zigzag varint count, then each index as a zigzag varint;
 *                the common case [0] (first message in the file) is the single byte 0
 *   then         the protobuf payload
 */

/** First byte of every framed value. */
export const MAGIC_BYTE = 0;

/** Why bytes are not a framed value. */
export const UnframeFailure = {
  /** Fewer than the 6 bytes of the smallest header. */
  Truncated: 'truncated',
  /** The first byte is not 0. */
  WrongMagic: 'wrong_magic',
  /** The message-index array is malformed: negative count or index, or a varint over 32 bits. */
  BadIndexArray: 'bad_index_array',
} as const;
export type UnframeFailure = (typeof UnframeFailure)[keyof typeof UnframeFailure];

/** Result of {@link unframe}. */
export type UnframeResult =
  | {
      ok: true;
      schemaId: number;
      /** Message-index path; `[0]` when the array was written as the single byte 0. */
      messageIndexes: number[];
      /** The protobuf bytes (a view into the input). */
      payload: Uint8Array;
      /** Bytes before the payload. */
      headerLength: number;
    }
  | { ok: false; reason: UnframeFailure; detail: string };

/** Zigzag varints here are 32-bit (Java int), so at most 5 bytes. */
const maxVarintBytes = 5;

function zigzagVarint(value: number): number[] {
  // Non-negative values only (validated by the caller): zigzag(n) = 2n.
  let n = value * 2;
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/**
 * The message-index array as bytes: `[0]` is the single byte 0, anything else is the count
 * followed by each index, all zigzag varints.
 * @throws RangeError for an empty array or an index that is not an integer in 0..2^31-1.
 */
export function encodeMessageIndexes(messageIndexes: readonly number[]): Uint8Array {
  if (messageIndexes.length === 0) throw new RangeError('a message-index array has at least one index');
  for (const index of messageIndexes) {
    if (!Number.isInteger(index) || index < 0 || index > 0x7fff_ffff) {
      throw new RangeError(`message index must be an integer in 0..2^31-1, got ${index}`);
    }
  }
  if (messageIndexes.length === 1 && messageIndexes[0] === 0) return Uint8Array.of(0);
  return Uint8Array.from([...zigzagVarint(messageIndexes.length), ...messageIndexes.flatMap(zigzagVarint)]);
}

/**
 * Frames a protobuf payload: magic byte, schema id, message-index array, payload.
 * @param schemaId the registry's id of the schema the payload was written with
 * @param messageIndexes path of the message in the schema file (`[0]`: its first message)
 * @throws RangeError for a schema id outside 0..2^31-1 or an invalid index array.
 */
export function frame(schemaId: number, messageIndexes: readonly number[], payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fff_ffff) {
    throw new RangeError(`schema id must be an integer in 0..2^31-1, got ${schemaId}`);
  }
  const indexes = encodeMessageIndexes(messageIndexes);
  const out = new Uint8Array(5 + indexes.length + payload.length);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setUint32(1, schemaId, false);
  out.set(indexes, 5);
  out.set(payload, 5 + indexes.length);
  return out;
}

type ReadInt = { value: number; next: number } | { error: UnframeFailure; detail: string };

function readZigzag(bytes: Uint8Array, offset: number, what: string): ReadInt {
  let raw = 0;
  let multiplier = 1;
  for (let i = 0; i < maxVarintBytes; i++) {
    const position = offset + i;
    if (position >= bytes.length) {
      return { error: UnframeFailure.Truncated, detail: `${what}: bytes end inside a varint` };
    }
    const byte = bytes[position] as number;
    raw += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) {
      if (raw > 0xffff_ffff) return { error: UnframeFailure.BadIndexArray, detail: `${what}: over 32 bits` };
      // zigzag: even → n / 2, odd → -(n + 1) / 2
      const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      return { value, next: position + 1 };
    }
  }
  return {
    error: UnframeFailure.BadIndexArray,
    detail: `${what}: varint longer than ${maxVarintBytes} bytes`,
  };
}

/**
 * Reads the header of a framed value. Never throws for bad input: the result says why.
 * A count of 0 means `[0]` (the single-byte form of the first message).
 */
export function unframe(bytes: Uint8Array): UnframeResult {
  if (bytes.length < 6) {
    return {
      ok: false,
      reason: UnframeFailure.Truncated,
      detail: `${bytes.length} bytes; a header has at least 6 (magic, schema id, message indexes)`,
    };
  }
  if (bytes[0] !== MAGIC_BYTE) {
    return { ok: false, reason: UnframeFailure.WrongMagic, detail: `magic byte is ${bytes[0]}, expected 0` };
  }
  const schemaId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
  const count = readZigzag(bytes, 5, 'message-index count');
  if ('error' in count) return { ok: false, reason: count.error, detail: count.detail };
  if (count.value < 0) {
    return { ok: false, reason: UnframeFailure.BadIndexArray, detail: `message-index count ${count.value}` };
  }
  let offset = count.next;
  if (count.value === 0) {
    return { ok: true, schemaId, messageIndexes: [0], payload: bytes.subarray(offset), headerLength: offset };
  }
  // Every index takes at least one byte: a count beyond the bytes left cannot be a real header.
  if (count.value > bytes.length - offset) {
    return {
      ok: false,
      reason: UnframeFailure.Truncated,
      detail: `message-index count ${count.value} exceeds the ${bytes.length - offset} bytes left`,
    };
  }
  const messageIndexes: number[] = [];
  for (let i = 0; i < count.value; i++) {
    const index = readZigzag(bytes, offset, `message index ${i}`);
    if ('error' in index) return { ok: false, reason: index.error, detail: index.detail };
    if (index.value < 0) {
      return {
        ok: false,
        reason: UnframeFailure.BadIndexArray,
        detail: `message index ${i} is ${index.value}`,
      };
    }
    messageIndexes.push(index.value);
    offset = index.next;
  }
  return { ok: true, schemaId, messageIndexes, payload: bytes.subarray(offset), headerLength: offset };
}
