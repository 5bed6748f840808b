import { randomBytes } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import type { TestContext } from 'vitest';
import type { Config } from '../../src/core/config/index.ts';
import { TimeoutError } from '../../src/core/errors/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';

/** A Kafka client for tests, disconnected admin/consumers are the caller's to close. */
export function testKafka(config: Config): Kafka {
  return createKafka(config, 'test');
}

/**
 * Creates a topic with a random name for one test and deletes it when the test finishes.
 * Names follow the project pattern (`amoskys.test.<purpose>-<random>.v1`).
 */
export async function randomTopic(
  ctx: TestContext,
  kafka: Kafka,
  options: { purpose?: string; partitions?: number } = {},
): Promise<string> {
  const topic = `amoskys.test.${options.purpose ?? 'topic'}-${randomBytes(4).toString('hex')}.v1`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions ?? 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    if (!created) throw new Error(`topic ${topic} already existed`);
  } finally {
    await admin.disconnect();
  }
  ctx.onTestFinished(async () => {
    const cleanup = kafka.admin();
    await cleanup.connect();
    try {
      await cleanup.deleteTopics({ topics: [topic] });
    } finally {
      await cleanup.disconnect();
    }
  });
  return topic;
}

/** A message as read back by {@link waitForMessages}. */
export interface ReadMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/**
 * Reads `topic` from the beginning with a fresh consumer group until `count` messages arrived.
 * Throws a TimeoutError that says how many of how many arrived.
 */
export async function waitForMessages(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `amoskys-test-${randomBytes(4).toString('hex')}` });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new TimeoutError(
            `expected ${count} messages on ${topic} within ${timeoutMs} ms, got ${messages.length}`,
            {
              topic,
            },
          ),
        );
      }, timeoutMs);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            messages.push({
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers: message.headers ?? {},
            });
            if (messages.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
