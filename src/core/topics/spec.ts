/**
 * Topics as code: the files in topics/ are the contract of each topic (name, partitions, retention,
 * cleanup policy, key, value subject, compatibility). This module reads and validates them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Config } from '../config/index.ts';
import { repoRoot } from '../config/index.ts';
import { AmoskysError, ErrorCode } from '../errors/index.ts';

/** Which configured topic a file describes: its name comes from `config.topics[role]`. */
export const topicRoles = ['raw', 'features', 'dlq', 'processorState'] as const;
export type TopicRole = (typeof topicRoles)[number];

/** Broker-side settings the files may manage (others are left to the broker's defaults). */
const managedConfigKeys = [
  'cleanup.policy',
  'retention.ms',
  'retention.bytes',
  'min.insync.replicas',
  'max.message.bytes',
  'compression.type',
  'segment.ms',
] as const;

export const topicSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]+(\.[a-z0-9_-]+)+\.v\d+$/, 'expected amoskys.<domain>.<what>.v<N>'),
  role: z.enum(topicRoles),
  description: z.string(),
  partitions: z.number().int().min(1).max(1000),
  replicationFactor: z.number().int().min(1).max(7),
  config: z.partialRecord(z.enum(managedConfigKeys), z.union([z.string(), z.number()])),
  key: z.string(),
  valueSubject: z.string().nullable(),
  valueSchema: z.strictObject({ file: z.string(), message: z.string() }).nullable().optional(),
  compatibility: z
    .enum([
      'BACKWARD',
      'BACKWARD_TRANSITIVE',
      'FORWARD',
      'FORWARD_TRANSITIVE',
      'FULL',
      'FULL_TRANSITIVE',
      'NONE',
    ])
    .nullable(),
});

/** One topic file, validated. */
export type TopicSpec = z.infer<typeof topicSpecSchema>;

/** A topic spec with the name it gets under the current configuration. */
export interface ResolvedTopic {
  spec: TopicSpec;
  /** `config.topics[spec.role]`: the file's name unless configuration renames the topic. */
  name: string;
  /** Broker settings as strings, the way Kafka reports them. */
  config: Record<string, string>;
  file: string;
}

/** Reads every `*.yaml` in the topics folder. Invalid files throw with the file and path. */
export function loadTopicSpecs(dir = path.join(repoRoot, 'topics')): { file: string; spec: TopicSpec }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const result = topicSpecSchema.safeParse(parse(readFileSync(file, 'utf8')));
      if (!result.success) {
        const detail = result.error.issues
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ');
        throw new AmoskysError(ErrorCode.ConfigInvalid, `invalid topic file ${f}: ${detail}`, {
          retriable: false,
          context: { file },
        });
      }
      return { file, spec: result.data };
    });
}

/** The topics of this configuration: each role once, named as configured. */
export function resolveTopics(config: Config, dir?: string): ResolvedTopic[] {
  const specs = loadTopicSpecs(dir);
  return topicRoles.map((role) => {
    const matches = specs.filter((s) => s.spec.role === role);
    if (matches.length !== 1) {
      throw new AmoskysError(
        ErrorCode.ConfigInvalid,
        `expected exactly one topic file with role ${role}, found ${matches.length}`,
        { retriable: false, context: { role } },
      );
    }
    const { file, spec } = matches[0] as { file: string; spec: TopicSpec };
    return {
      spec,
      name: config.topics[role],
      config: Object.fromEntries(Object.entries(spec.config).map(([k, v]) => [k, String(v)])),
      file,
    };
  });
}
