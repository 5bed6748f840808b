/**
 * Reads the raw topic for `amoskys analyze`: every message in `[start, end)` of each partition,
 * where `end` is the high watermark taken first (so the read ends even while producers keep
 * writing, and an empty topic ends at once) and `start` the earliest offset, or the first offset
 * at `sinceMs`. A consumer group of its own (random, no offsets committed, deleted afterwards)
 * reads read_committed; only the idempotency key is taken from each value (a top-level field
 * scan, no full decode). Batches filtered away (transaction markers, aborted records) still move
 * the position, so a partition ending in a marker is finished too.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { scanFields, WireType } from '../../core/envelope/index.ts';
import { InputError, TimeoutError } from '../../core/errors/index.ts';
import { unframe } from '../../core/registry/index.ts';
import type { TopicMessage } from './types.ts';

/** `UniversalEnvelope.idempotency_key` (schemas/proto/amoskys/telemetry/v1/telemetry.proto). */
const IDEMPOTENCY_KEY_FIELD = 3;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The idempotency key of a raw-topic value (Confluent-framed `UniversalEnvelope`), or `null` when
 * the value is not framed, not well-formed protobuf, or has no readable key. The last occurrence
 * of the field wins, as a protobuf decoder would read it.
 */
export function idempotencyKeyOf(value: Uint8Array | null): string | null {
  if (value === null) return null;
  const framed = unframe(value);
  if (!framed.ok) return null;
  const scan = scanFields(framed.payload);
  if (!scan.ok) return null;
  let key: string | null = null;
  for (const f of scan.fields) {
    if (f.fieldNumber !== IDEMPOTENCY_KEY_FIELD || f.wireType !== WireType.LengthDelimited) continue;
    try {
      key = utf8.decode(framed.payload.subarray(f.valueStart, f.end));
    } catch {
      key = null;
    }
  }
  return key === '' ? null : key;
}

/** Offsets of one partition to read: `[start, end)`. */
export interface PartitionRange {
  readonly partition: number;
  readonly start: bigint;
  readonly end: bigint;
}

/** Options of {@link readRawTopic}. */
export interface ReadTopicOptions {
  /** Start each partition at the first message at or after this time, ms; default the earliest offset. */
  readonly sinceMs?: number | undefined;
  /** Called with the messages read so far and the total to read. */
  readonly onProgress?: (read: number, total: number) => void;
  /** Give up when no partition advanced for this long (group join included), ms. @default 60000 */
  readonly idleTimeoutMs?: number;
}

/** Where each partition starts and ends; throws when the topic does not exist. */
export async function topicRanges(admin: Admin, topic: string, sinceMs?: number): Promise<PartitionRange[]> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) {
    throw new InputError(`topic ${topic} does not exist on the broker (topics.raw)`, { topic });
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  const starts =
    sinceMs === undefined
      ? undefined
      : new Map(
          (await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs)).map((o) => [
            o.partition,
            BigInt(o.offset),
          ]),
        );
  return offsets
    .map((o) => {
      const low = BigInt(o.low);
      const end = BigInt(o.high);
      const at = starts?.get(o.partition);
      const start = at === undefined || at < low ? low : at > end ? end : at;
      return { partition: o.partition, start, end };
    })
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Reads every message of `ranges` and hands it to `onMessage` in offset order per partition.
 * Resolves when every partition reached its end; rejects with a TimeoutError naming the
 * partitions that did not when nothing advanced for `idleTimeoutMs`.
 */
export async function readRawTopic(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  onMessage: (message: TopicMessage) => void,
  options: ReadTopicOptions = {},
): Promise<{ read: number }> {
  const total = ranges.reduce((s, r) => s + Number(r.end - r.start), 0);
  const position = new Map(ranges.map((r) => [r.partition, r.start]));
  const byPartition = new Map(ranges.map((r) => [r.partition, r]));
  const pending = () => ranges.filter((r) => (position.get(r.partition) ?? r.start) < r.end);
  if (pending().length === 0) return { read: 0 };

  const groupId = `amoskys-analyze-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  let read = 0;
  let lastAdvance = Date.now();
  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const advance = (partition: number, next: bigint) => {
    if (next > (position.get(partition) ?? 0n)) {
      position.set(partition, next);
      lastAdvance = Date.now();
    }
    if (pending().length === 0) settle?.resolve();
  };

  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    // A one-shot reader has nothing to restart into: any crash ends the read with its cause.
    consumer.on(consumer.events.CRASH, ({ payload }) => settle?.reject(payload.error));
    // Batches of only transaction markers or aborted records reach no handler; this event does.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic) advance(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    const timer = setInterval(() => {
      options.onProgress?.(read, total);
      if (Date.now() - lastAdvance > idleTimeoutMs) {
        const stuck = pending()
          .map((r) => `${r.partition} at ${position.get(r.partition)} of ${r.end}`)
          .join(', ');
        settle?.reject(
          new TimeoutError(`reading ${topic}: no progress for ${idleTimeoutMs} ms; partitions ${stuck}`, {
            topic,
          }),
        );
      }
    }, 1000);
    try {
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = byPartition.get(batch.partition);
          if (range === undefined) return;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            // Before the seek took effect, or produced after the end was taken: not ours.
            if (offset < range.start || offset >= range.end) continue;
            if (offset < (position.get(batch.partition) ?? 0n)) continue; // read already
            onMessage({
              partition: batch.partition,
              offset,
              kafkaKey: m.key === null ? null : m.key.toString('utf8'),
              idempotencyKey: idempotencyKeyOf(m.value),
              timestampMs: Number(m.timestamp),
            });
            read++;
            advance(batch.partition, offset + 1n);
          }
        },
      });
      for (const r of ranges) {
        if (r.start > 0n) consumer.seek({ topic, partition: r.partition, offset: r.start.toString() });
      }
      await done;
    } finally {
      clearInterval(timer);
    }
    options.onProgress?.(read, total);
    return { read };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}
