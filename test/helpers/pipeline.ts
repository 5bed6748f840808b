/**
 * A private copy of the pipeline's Kafka side: random names for every topic (created from topics/
 * like `amoskys topics apply` does), the value schemas registered under the matching subjects, a
 * consumer group of its own. `testPipeline` deletes it all when the test finishes; benchmarks call
 * `createPipeline` and its `teardown` themselves.
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

export interface PrivatePipeline extends TestPipeline {
  /** Deletes the topics, the group and the subjects. Never throws. */
  teardown(): Promise<void>;
}

/** Creates a private pipeline named `amoskys.<prefix>.<topic>-<random>.v1`. */
export async function createPipeline(base: Config, prefix = 'test'): Promise<PrivatePipeline> {
  const id = randomBytes(4).toString('hex');
  const config: Config = {
    ...base,
    topics: {
      raw: `amoskys.${prefix}.raw-${id}.v1`,
      features: `amoskys.${prefix}.features-${id}.v1`,
      dlq: `amoskys.${prefix}.dlq-${id}.v1`,
      processorState: `amoskys.${prefix}.state-${id}.v1`,
    },
    processor: { ...base.processor, groupId: `amoskys-${prefix}-processor-${id}` },
  };
  const admin = createKafka(config, prefix).admin();
  await admin.connect();
  const topics = resolveTopics(config);
  const names = topics.map((t) => t.name);
  const subjects = [`${config.topics.raw}-value`, `${config.topics.features}-value`];
  const teardown = async () => {
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    await admin.deleteGroups([config.processor.groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    for (const subject of subjects) {
      await deleteSubject(config, subject).catch(() => undefined);
      await deleteSubject(config, subject, { permanent: true }).catch(() => undefined);
    }
  };
  try {
    await applyTopicChanges(admin, topics, planTopicChanges(topics, await readBrokerTopics(admin, names)));
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
    return { config, rawSchemaId: ids[0] as number, featuresSchemaId: ids[1] as number, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** A private pipeline for one test, deleted when the test finishes. */
export async function testPipeline(ctx: TestContext, base: Config): Promise<TestPipeline> {
  const pipeline = await createPipeline(base);
  ctx.onTestFinished(pipeline.teardown);
  return pipeline;
}
