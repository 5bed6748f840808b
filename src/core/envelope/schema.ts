/**
 * The telemetry contract, loaded at run time from schemas/proto with protobufjs reflection (no
 * generated code to keep in step). Loaded once, when this module is first imported.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { repoRoot } from '../config/index.ts';
import { protoMessageIndexes } from '../registry/index.ts';

/** Where the value schema of `amoskys.telemetry.raw.v1` lives, and which message it is. */
export interface EnvelopeSchema {
  /** Absolute path of the .proto file. */
  file: string;
  /** Path of the file relative to the repository root, as topics/ names it. */
  relativeFile: string;
  /** Fully qualified message name. */
  message: string;
  /** Confluent message-index path of the message in the file (`[0]`: the first message). */
  messageIndexes: readonly number[];
  /** Text of the .proto file. */
  source: string;
}

const relativeFile = 'schemas/proto/amoskys/telemetry/v1/telemetry.proto';
const message = 'amoskys.telemetry.v1.UniversalEnvelope';
const file = `${repoRoot}/${relativeFile}`;
const source = readFileSync(file, 'utf8');

/** The envelope's schema file and message. */
export const envelopeSchema: EnvelopeSchema = Object.freeze({
  file,
  relativeFile,
  message,
  messageIndexes: Object.freeze(protoMessageIndexes(source, message)),
  source,
});

const root = protobuf.parse(source).root;
root.resolveAll();

/** protobufjs reflection types of the contract (field names in camelCase). */
export const types = {
  UniversalEnvelope: root.lookupType('amoskys.telemetry.v1.UniversalEnvelope'),
  DeviceStatusState: root.lookupEnum('amoskys.telemetry.v1.DeviceStatus.State'),
};

/** How protobufjs holds a 64-bit integer: two 32-bit halves. Its writer takes plain objects. */
export type Long = protobuf.Long;

const uint64Max = (1n << 64n) - 1n;

/** A bigint as an unsigned protobufjs Long. @throws RangeError outside 0..2^64-1 */
export function toUint64(value: bigint, what: string): Long {
  if (typeof value !== 'bigint' || value < 0n || value > uint64Max) {
    throw new RangeError(`${what} must be a bigint in 0..2^64-1, got ${String(value)}`);
  }
  // protobufjs writes any { low, high } object; `| 0` stores the halves as signed 32-bit like Long.
  return { low: Number(value & 0xffff_ffffn) | 0, high: Number(value >> 32n) | 0, unsigned: true };
}

/** A decoded 64-bit value (protobufjs gives a Long, or a number when small) as an exact bigint. */
export function fromUint64(value: Long | number | undefined | null): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}
