/**
 * The feature-row contract, loaded at run time from schemas/proto with protobufjs reflection, like
 * the envelope (src/core/envelope/schema.ts). Field names are kept as written (snake_case), so a
 * column's name is the same in the contract, in code and in ClickHouse.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { repoRoot } from '../config/index.ts';
import { protoMessageIndexes } from '../registry/index.ts';

/** Where the value schema of `amoskys.telemetry.features.v1` lives, and which message it is. */
export interface FeaturesSchema {
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

const relativeFile = 'schemas/proto/amoskys/telemetry/v1/features.proto';
const message = 'amoskys.telemetry.v1.FeatureRow';
const file = `${repoRoot}/${relativeFile}`;
const source = readFileSync(file, 'utf8');

/** The feature row's schema file and message: frame rows with `frame(id, messageIndexes, bytes)`. */
export const featuresSchema: FeaturesSchema = Object.freeze({
  file,
  relativeFile,
  message,
  messageIndexes: Object.freeze(protoMessageIndexes(source, message)),
  source,
});

const root = protobuf.parse(source, { keepCase: true }).root;
root.resolveAll();

/** protobufjs reflection types of the contract (field names as in the .proto file). */
export const featureTypes = {
  FeatureRow: root.lookupType('amoskys.telemetry.v1.FeatureRow'),
  PollState: root.lookupEnum('amoskys.telemetry.v1.FeatureRow.PollState'),
  RateState: root.lookupEnum('amoskys.telemetry.v1.FeatureRow.RateState'),
};
