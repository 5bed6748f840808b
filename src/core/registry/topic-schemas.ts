/**
 * The value schema of each topic, as topics/*.yaml declare it (read and validated by
 * src/core/topics):
 *
 *   valueSubject: amoskys.telemetry.raw.v1-value
 *   compatibility: BACKWARD_TRANSITIVE
 *   valueSchema:
 *     file: schemas/proto/amoskys/telemetry/v1/telemetry.proto   # relative to the folder above topics/
 *     message: amoskys.telemetry.v1.UniversalEnvelope
 */
import path from 'node:path';
import { SchemaFileError } from '../errors/index.ts';
import { loadTopicSpecs } from '../topics/index.ts';

/** Compatibility levels of the Confluent API. */
export const compatibilityLevels = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityLevel = (typeof compatibilityLevels)[number];

/** The schema-related part of one topic file. */
export interface TopicSchema {
  topic: string;
  /** The topic file. */
  topicFile: string;
  valueSubject: string | null;
  compatibility: CompatibilityLevel | null;
  /** Null when the topic has no registered value schema (yet). */
  valueSchema: {
    /** Absolute path of the .proto file. */
    file: string;
    /** As written in the topic file. */
    relativeFile: string;
    /** Fully qualified message name. */
    message: string;
  } | null;
}

/**
 * The value schemas of every topic file in a folder, in file-name order.
 * @throws SchemaFileError when a file declares a valueSchema without a subject and compatibility;
 *   invalid topic files throw from src/core/topics.
 */
export function readTopicSchemas(topicsDir: string): TopicSchema[] {
  const base = path.resolve(topicsDir, '..');
  return loadTopicSpecs(topicsDir).map(({ file, spec }) => {
    const valueSchema = spec.valueSchema ?? null;
    if (valueSchema !== null && (spec.valueSubject === null || spec.compatibility === null)) {
      throw new SchemaFileError(`topic file ${file} has a valueSchema but no valueSubject or compatibility`, {
        topicFile: file,
      });
    }
    return {
      topic: spec.name,
      topicFile: file,
      valueSubject: spec.valueSubject,
      compatibility: spec.compatibility,
      valueSchema:
        valueSchema === null
          ? null
          : {
              file: path.resolve(base, valueSchema.file),
              relativeFile: valueSchema.file,
              message: valueSchema.message,
            },
    };
  });
}
