/**
 * A private copy of the pipeline's Kafka side for one test: random names for every topic (created
 * from topics/ like `amoskys topics apply` does), the value schemas registered under the matching
 * subjects, a consumer group of its own. Everything is deleted when the test finishes.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'vitest';
import type { Config } from '../../src/core/config/index.ts';
import { envelopeSchema } from '../../src/core/envelope/index.ts';
import { featuresSchema } from '../../src/core/features/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { applySubject, deleteSubject } from '../../src/core/registry/index.ts';
import {
  applyTopicChanges,
  planTopicChanges,
  readBrokerTopics,
  resolveTopics,
} from '../../src/core/topics/index.ts';

export interface TestPipeline {
  config: Config;
  rawSchemaId: number;
  featuresSchemaId: number;
}

export async function testPipeline(ctx: TestContext, base: Config): Promise<TestPipeline> {
  const id = randomBytes(4).toString('hex');
  const config: Config = {
    ...base,
    topics: {
      raw: `amoskys.test.raw-${id}.v1`,
      features: `amoskys.test.features-${id}.v1`,
      dlq: `amoskys.test.dlq-${id}.v1`,
      processorState: `amoskys.test.state-${id}.v1`,
    },
    processor: { ...base.processor, groupId: `amoskys-test-processor-${id}` },
  };
  const admin = createKafka(config, 'test').admin();
  await admin.connect();
  const topics = resolveTopics(config);
  const names = topics.map((t) => t.name);
  await applyTopicChanges(admin, topics, planTopicChanges(topics, await readBrokerTopics(admin, names)));
  const subjects = [`${config.topics.raw}-value`, `${config.topics.features}-value`];
  ctx.onTestFinished(async () => {
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    await admin.deleteGroups([config.processor.groupId]).catch(() => undefined);
    await admin.disconnect();
    for (const subject of subjects) {
      await deleteSubject(config, subject).catch(() => undefined);
      await deleteSubject(config, subject, { permanent: true }).catch(() => undefined);
    }
  });
  const ids: number[] = [];
  for (const [subject, schema] of [
    [subjects[0], envelopeSchema.source],
    [subjects[1], featuresSchema.source],
  ] as const) {
    const outcome = await applySubject(config, {
      subject: subject as string,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema,
    });
    if (outcome.status !== 'registered' && outcome.status !== 'unchanged') {
      throw new Error(`cannot register ${subject}: ${JSON.stringify(outcome)}`);
    }
    ids.push(outcome.id);
  }
  return { config, rawSchemaId: ids[0] as number, featuresSchemaId: ids[1] as number };
}
