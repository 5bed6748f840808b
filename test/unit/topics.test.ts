import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaults, repoRoot } from '../../src/core/config/index.ts';
import { envelopeSchema } from '../../src/core/envelope/index.ts';
import { protoMessageIndexes } from '../../src/core/registry/index.ts';

interface TopicFile {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string | number>;
  valueSubject: string | null;
  valueSchema?: { file: string; message: string } | null;
}

const dir = `${repoRoot}/topics`;
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const topics = files.map((f) => ({ file: f, spec: parse(readFileSync(`${dir}/${f}`, 'utf8')) as TopicFile }));

describe('topics/', () => {
  it('defines exactly the configured topics, one file each, named after the topic', () => {
    expect(topics.map((t) => t.spec.name).sort()).toEqual(Object.values(defaults.topics).sort());
    for (const { file, spec } of topics) expect(file).toBe(`${spec.name}.yaml`);
  });

  it('gives every topic partitions, a cleanup policy, a retention and min.insync.replicas', () => {
    for (const { spec } of topics) {
      expect(spec.partitions).toBeGreaterThan(0);
      expect(spec.config['cleanup.policy']).toMatch(/^(delete|compact|compact,delete)$/);
      expect(Number(spec.config['retention.ms'])).toBeGreaterThan(0);
      expect(Number(spec.config['min.insync.replicas'])).toBeLessThanOrEqual(spec.replicationFactor);
    }
  });

  it('names value subjects with the TopicNameStrategy', () => {
    for (const { spec } of topics)
      if (spec.valueSubject !== null) expect(spec.valueSubject).toBe(`${spec.name}-value`);
  });

  it('points every valueSchema at a .proto file that defines the message; raw carries the envelope', () => {
    for (const { spec } of topics) {
      if (spec.valueSchema === null || spec.valueSchema === undefined) continue;
      expect(spec.valueSubject).not.toBeNull();
      const source = readFileSync(`${repoRoot}/${spec.valueSchema.file}`, 'utf8');
      expect(protoMessageIndexes(source, spec.valueSchema.message).length).toBeGreaterThan(0);
    }
    const raw = topics.find((t) => t.spec.name === defaults.topics.raw)?.spec;
    expect(raw?.valueSchema).toEqual({ file: envelopeSchema.relativeFile, message: envelopeSchema.message });
  });
});
