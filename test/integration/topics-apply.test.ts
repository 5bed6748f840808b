import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/core/kafka/index.ts';
import {
  applyTopicChanges,
  planTopicChanges,
  readBrokerTopics,
  resolveTopics,
} from '../../src/core/topics/index.ts';
import { testConfig } from '../helpers/config.ts';

const id = randomBytes(4).toString('hex');
const base = testConfig();
const config = {
  ...base,
  topics: {
    raw: `amoskys.test.raw-${id}.v1`,
    features: `amoskys.test.features-${id}.v1`,
    dlq: `amoskys.test.dlq-${id}.v1`,
    processorState: `amoskys.test.state-${id}.v1`,
  },
};
const admin = createKafka(config, 'test').admin();
await admin.connect();
afterAll(async () => {
  await admin.deleteTopics({ topics: Object.values(config.topics) }).catch(() => undefined);
  await admin.disconnect();
});

describe('topics apply against the broker', () => {
  const topics = resolveTopics(config);
  const names = topics.map((t) => t.name);

  it('creates the topics with their settings, then has nothing left to do', async () => {
    await applyTopicChanges(admin, topics, planTopicChanges(topics, await readBrokerTopics(admin, names)));
    const broker = await readBrokerTopics(admin, names);
    for (const t of topics) {
      expect(broker.get(t.name)).toEqual({
        partitions: t.spec.partitions,
        replicationFactor: t.spec.replicationFactor,
        config: t.config,
      });
    }
    expect(planTopicChanges(topics, broker)).toEqual([]);
  });

  it('puts back a setting changed behind its back and grows partitions', async () => {
    const raw = topics.find((t) => t.spec.role === 'raw');
    if (raw === undefined) throw new Error('no raw topic');
    const kafkajs = (await import('kafkajs')).default;
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: raw.name,
          configEntries: [{ name: 'retention.ms', value: '1000' }],
        },
      ],
    });
    const grown = [{ ...raw, spec: { ...raw.spec, partitions: raw.spec.partitions + 2 } }];
    const plan = planTopicChanges(grown, await readBrokerTopics(admin, [raw.name]));
    // alterConfigs replaced the topic's overrides as a whole, so other managed keys may have fallen
    // back to broker defaults too; retention and partitions must be in the plan in any case.
    expect(plan).toContainEqual({
      kind: 'config',
      topic: raw.name,
      key: 'retention.ms',
      from: '1000',
      to: raw.config['retention.ms'],
    });
    expect(plan).toContainEqual({
      kind: 'partitions',
      topic: raw.name,
      from: raw.spec.partitions,
      to: raw.spec.partitions + 2,
    });
    await applyTopicChanges(admin, grown, plan);
    const after = (await readBrokerTopics(admin, [raw.name])).get(raw.name);
    expect(after).toEqual({ partitions: raw.spec.partitions + 2, replicationFactor: 1, config: raw.config });
  });
});
