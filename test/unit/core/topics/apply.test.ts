import { describe, expect, it } from 'vitest';
import { defaults } from '../../../../src/core/config/index.ts';
import { type BrokerTopic, planTopicChanges, resolveTopics } from '../../../../src/core/topics/index.ts';

const topics = resolveTopics(defaults);
const raw = topics.find((t) => t.spec.role === 'raw');
if (raw === undefined) throw new Error('no raw topic file');

const asOnBroker = (t: typeof raw, change: Partial<BrokerTopic> = {}): BrokerTopic => ({
  partitions: t.spec.partitions,
  replicationFactor: t.spec.replicationFactor,
  config: { ...t.config },
  ...change,
});

describe('resolveTopics', () => {
  it('names each role as configured', () => {
    const renamed = resolveTopics({
      ...defaults,
      topics: { ...defaults.topics, raw: 'amoskys.test.raw-1.v1' },
    });
    expect(renamed.map((t) => t.name)).toEqual([
      'amoskys.test.raw-1.v1',
      defaults.topics.features,
      defaults.topics.dlq,
      defaults.topics.processorState,
    ]);
  });
});

describe('planTopicChanges', () => {
  it('creates what is missing', () => {
    const plan = planTopicChanges(topics, new Map());
    expect(plan.map((c) => c.kind)).toEqual(['create', 'create', 'create', 'create']);
    expect(plan[0]).toMatchObject({ topic: raw.name, partitions: raw.spec.partitions, config: raw.config });
  });

  it('is empty when the broker matches', () => {
    expect(planTopicChanges(topics, new Map(topics.map((t) => [t.name, asOnBroker(t)])))).toEqual([]);
  });

  it('grows partitions, changes drifted settings, refuses to shrink or re-replicate', () => {
    const broker = new Map(topics.map((t) => [t.name, asOnBroker(t)]));
    broker.set(
      raw.name,
      asOnBroker(raw, { partitions: 2, config: { ...raw.config, 'retention.ms': '1000' } }),
    );
    expect(planTopicChanges([raw], broker)).toEqual([
      { kind: 'partitions', topic: raw.name, from: 2, to: raw.spec.partitions },
      { kind: 'config', topic: raw.name, key: 'retention.ms', from: '1000', to: raw.config['retention.ms'] },
    ]);
    broker.set(raw.name, asOnBroker(raw, { partitions: 99, replicationFactor: 3 }));
    expect(planTopicChanges([raw], broker).map((c) => c.kind)).toEqual(['error', 'error']);
  });
});
