import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaults, repoRoot } from '../../src/core/config/index.ts';

interface TopicFile {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string | number>;
  valueSubject: string | null;
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
      expect(spec.config['cleanup.policy']).toMatch(/^(delete|compact)$/);
      expect(Number(spec.config['retention.ms'])).toBeGreaterThan(0);
      expect(Number(spec.config['min.insync.replicas'])).toBeLessThanOrEqual(spec.replicationFactor);
    }
  });

  it('names value subjects with the TopicNameStrategy', () => {
    for (const { spec } of topics)
      if (spec.valueSubject !== null) expect(spec.valueSubject).toBe(`${spec.name}-value`);
  });
});
