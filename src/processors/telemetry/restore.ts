/**
 * Restores a partition's state from the changelog before the partition is processed.
 *
 * "Read to the end" is not well defined on a transactional topic (the end offset counts commit
 * markers a consumer never sees), so the new owner writes a marker record of its own into the
 * changelog partition, in a committed transaction, and reads until it meets that marker: then it
 * has seen every committed record before it, whatever the previous owner left behind. The previous
 * owner is fenced first (same transactional id), so nothing can be committed after the marker.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../../core/logging/index.ts';
import { changelogKey, PartitionState } from './state.ts';

/** Writes the marker through the partition's (already fenced) transactional producer. */
export async function writeRestoreMarker(
  producer: Producer,
  topic: string,
  partition: number,
): Promise<string> {
  const id = randomUUID();
  const txn = await producer.transaction();
  try {
    await txn.send({
      topic,
      messages: [{ key: changelogKey.marker(id), value: Buffer.alloc(0), partition }],
    });
    await txn.commit();
  } catch (err) {
    await txn.abort().catch(() => undefined);
    throw err;
  }
  return id;
}

/**
 * Reads changelog `partition` from the beginning (read_committed) up to the marker `markerId`.
 * A throwaway consumer group does the reading; it is deleted afterwards.
 */
export async function restorePartition(
  kafka: Kafka,
  topic: string,
  partition: number,
  markerId: string,
  logger: Logger,
  timeoutMs = 60_000,
): Promise<PartitionState> {
  const state = new PartitionState();
  const groupId = `amoskys-restore-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
  const marker = changelogKey.marker(markerId);
  let records = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`restore of ${topic}[${partition}] did not reach its marker in ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== partition) {
              // Other partitions' state belongs to other owners (or other restores).
              consumer.pause([{ topic, partitions: [batch.partition] }]);
              return;
            }
            for (const message of batch.messages) {
              const key = message.key?.toString() ?? '';
              if (key === marker) {
                clearTimeout(timer);
                resolve();
                return;
              }
              state.apply({ key, value: message.value ?? Buffer.alloc(0) });
              records++;
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
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  logger.info({ topic, partition, records, ...state.size }, 'partition state restored');
  return state;
}
