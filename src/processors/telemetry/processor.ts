/**
 * The telemetry processor stage.
 *
 * Consumes: `amoskys.telemetry.raw.v1` (config `topics.raw`) as consumer group `processor.groupId`.
 * Produces: feature rows to `amoskys.telemetry.features.v1` (key = device_id, Confluent-framed
 *   FeatureRow), every reject to `amoskys.telemetry.dlq.v1` (original bytes, reason in headers),
 *   and its own state to the changelog `amoskys.processor.state.v1`.
 * Delivery: exactly once as a read_committed consumer sees it. Each input partition has its own
 *   transactional producer (transactional id `<group>-<raw topic>-<partition>`, so a restarted or
 *   rebalanced owner fences the previous one: kafkajs has no KIP-447). One transaction per chunk
 *   holds the outputs, the changelog records and the consumer offset; a crash before the commit
 *   aborts all three together, and the chunk is processed again from the committed offset.
 * Idempotency key: the envelope's `<device_id>/<interval_s>/<slot>`; a key seen within
 *   `processor.dedupRetentionSeconds` is a duplicate: counted, not forwarded, not dead-lettered.
 *
 * Counts reconcile per committed chunk: messages in = accepted + rejected + duplicates.
 */
import kafkajs, {
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Config } from '../../core/config/index.ts';
import { supervisedConsumer } from '../../core/kafka/index.ts';
import type { Logger } from '../../core/logging/index.ts';
import { restorePartition, writeRestoreMarker } from './restore.ts';
import { acceptedRecords, type ChangelogRecord, type PartitionState } from './state.ts';
import type { RejectReason } from './types.ts';

const { Partitioners } = kafkajs;

/** An accepted message, as far as the runtime needs to know it. */
export interface Accepted {
  ok: true;
  idempotencyKey: string;
  deviceId: string;
  slotStartNs: bigint;
  envelopeTsNs: bigint;
}

/** A rejected message. */
export interface Rejected {
  ok: false;
  reason: RejectReason;
  detail: string;
  deviceId?: string;
}

/** The pure part of processing, injected so that the runtime can be read (and tested) alone. */
export interface ProcessorLogic<A extends Accepted = Accepted> {
  /** Checks a chunk of raw values, in order (on worker threads in production). */
  validate(values: readonly (Buffer | null)[], nowNs: bigint): Promise<(A | Rejected)[]>;
  /** The feature row (framed, ready to produce) and the device's next counter snapshot. */
  flatten(accepted: A, previousSnapshot: Buffer | undefined): { value: Buffer; snapshot: Buffer };
  /** Headers of a dead-lettered message. */
  dlqHeaders(
    rejected: Rejected,
    source: { topic: string; partition: number; offset: string; key: string | null },
    nowMs: number,
  ): Record<string, string>;
}

/** Options of {@link startProcessor}. */
export interface ProcessorStageOptions<A extends Accepted> {
  config: Config;
  kafka: Kafka;
  logic: ProcessorLogic<A>;
  logger: Logger;
  metrics: Registry;
  /** Messages per transaction. @default 500 */
  chunkMessages?: number;
  /**
   * Input partitions processed at once. Each partition waits for its transaction to commit before
   * its next chunk; others fill the worker threads meanwhile. @default 6 (the raw topic's partitions)
   */
  partitionsConsumedConcurrently?: number;
  /** Called after each rebalance with the partitions this instance now owns. */
  onAssigned?: (partitions: readonly number[]) => void;
}

/** Totals since start, for health, progress and tests. */
export interface ProcessorStats {
  in: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  rejectedByReason: Record<string, number>;
  partitions: number[];
}

export interface ProcessorStage {
  stats(): ProcessorStats;
  /** Stops consuming after the chunk in flight, commits it, disconnects. Safe to call twice. */
  close(): Promise<void>;
}

interface Owner {
  partition: number;
  producer: Producer;
  state: PartitionState;
  /** When the state last forgot expired keys, ms since the epoch. */
  expiredAtMs: number;
}

/** One record to produce inside a chunk's transaction. */
interface Outgoing {
  topic: string;
  message: { key: string | null; value: Buffer; headers?: Record<string, string>; partition?: number };
}

/**
 * Value bytes per produce request inside a transaction: under the broker's default 1 MB message
 * limit with room for keys and headers, since a request's records for one partition form one batch.
 */
const maxRequestBytes = 768 * 1024;

/** Groups records into `sendBatch` payloads of at most `limit` value bytes (a larger record goes alone). */
export function splitBySize(
  records: readonly Outgoing[],
  limit: number,
): { topic: string; messages: Outgoing['message'][] }[][] {
  const parts: { topic: string; messages: Outgoing['message'][] }[][] = [];
  let current = new Map<string, Outgoing['message'][]>();
  let bytes = 0;
  const flush = () => {
    if (current.size > 0) parts.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const { topic, message } of records) {
    const size = message.value.length + (message.key?.length ?? 0);
    if (bytes > 0 && bytes + size > limit) flush();
    const list = current.get(topic) ?? [];
    list.push(message);
    current.set(topic, list);
    bytes += size;
  }
  flush();
  return parts;
}

/** How often a partition's state forgets expired keys, ms. */
const expireEveryMs = 60_000;

export async function startProcessor<A extends Accepted>(
  options: ProcessorStageOptions<A>,
): Promise<ProcessorStage> {
  const { config, kafka, logic, metrics } = options;
  const rawTopic = config.topics.raw;
  const groupId = config.processor.groupId;
  const log = options.logger.child({ component: 'processor', topic: rawTopic });
  const chunkMessages = options.chunkMessages ?? 500;
  const retentionNs = BigInt(config.processor.dedupRetentionSeconds) * 1_000_000_000n;

  const m = {
    messages: new Counter({
      name: 'amoskys_processor_messages_total',
      help: 'Input messages by outcome (committed)',
      labelNames: ['result'],
      registers: [metrics],
    }),
    rejects: new Counter({
      name: 'amoskys_processor_rejects_total',
      help: 'Dead-lettered messages by reason',
      labelNames: ['reason'],
      registers: [metrics],
    }),
    lag: new Gauge({
      name: 'amoskys_processor_lag_messages',
      help: 'Messages behind the end of each input partition',
      labelNames: ['partition'],
      registers: [metrics],
    }),
    latency: new Histogram({
      name: 'amoskys_processor_envelope_age_seconds',
      help: 'Age of accepted envelopes when their feature row was committed (ts_ns to commit)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [metrics],
    }),
    chunk: new Histogram({
      name: 'amoskys_processor_chunk_seconds',
      help: 'Time to validate, flatten and commit one chunk',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics],
    }),
  };
  const totals: ProcessorStats = {
    in: 0,
    accepted: 0,
    rejected: 0,
    duplicates: 0,
    rejectedByReason: {},
    partitions: [],
  };

  const owners = new Map<number, Promise<Owner>>();
  const ownerOf = (partition: number): Promise<Owner> => {
    let owner = owners.get(partition);
    if (owner === undefined) {
      owner = takeOwnership(partition);
      owners.set(partition, owner);
      // A failed takeover is retried with the next batch, not cached.
      owner.catch(() => owners.delete(partition));
    }
    return owner;
  };
  const takeOwnership = async (partition: number): Promise<Owner> => {
    const producer = kafka.producer({
      transactionalId: `${groupId}-${rawTopic}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      // The default partitioner, named so kafkajs does not warn about its v2 change on every start.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    // Connecting initialises the transactional id: any earlier owner of this partition is fenced
    // and its open transaction aborted before the marker is written.
    await producer.connect();
    const marker = await writeRestoreMarker(producer, config.topics.processorState, partition);
    const state = await restorePartition(kafka, config.topics.processorState, partition, marker, log);
    state.expire(BigInt(Date.now()) * 1_000_000n - retentionNs);
    return { partition, producer, state, expiredAtMs: Date.now() };
  };
  const release = async (partition: number): Promise<void> => {
    const owner = owners.get(partition);
    owners.delete(partition);
    if (owner !== undefined) await (await owner.catch(() => undefined))?.producer.disconnect();
  };

  const processChunk = async (
    owner: Owner,
    messages: readonly KafkaMessage[],
    payload: EachBatchPayload,
  ): Promise<void> => {
    const started = performance.now();
    const { partition } = payload.batch;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const results = await logic.validate(
      messages.map((msg) => msg.value),
      nowNs,
    );
    const features: { key: string; value: Buffer }[] = [];
    const dlq: { key: string | null; value: Buffer; headers: Record<string, string> }[] = [];
    const changelog: ChangelogRecord[] = [];
    const snapshots = new Map<string, Buffer>();
    const keysInChunk = new Set<string>();
    const counts = { accepted: 0, rejected: 0, duplicates: 0 };
    const reasons: Record<string, number> = {};
    const ages: number[] = [];

    messages.forEach((msg, i) => {
      const result = results[i] as A | Rejected;
      if (!result.ok) {
        const key = msg.key?.toString() ?? null;
        dlq.push({
          key: result.deviceId ?? key,
          value: msg.value ?? Buffer.alloc(0),
          headers: logic.dlqHeaders(
            result,
            { topic: rawTopic, partition, offset: msg.offset, key },
            Date.now(),
          ),
        });
        counts.rejected++;
        reasons[result.reason] = (reasons[result.reason] ?? 0) + 1;
        return;
      }
      if (owner.state.has(result.idempotencyKey) || keysInChunk.has(result.idempotencyKey)) {
        counts.duplicates++;
        return;
      }
      keysInChunk.add(result.idempotencyKey);
      const previous = snapshots.get(result.deviceId) ?? owner.state.snapshot(result.deviceId);
      const { value, snapshot } = logic.flatten(result, previous);
      snapshots.set(result.deviceId, snapshot);
      features.push({ key: result.deviceId, value });
      changelog.push(
        ...acceptedRecords(result.idempotencyKey, result.envelopeTsNs, result.deviceId, snapshot),
      );
      counts.accepted++;
      ages.push(Number(nowNs - result.envelopeTsNs) / 1e9);
    });

    const last = messages[messages.length - 1] as KafkaMessage;
    const txn = await owner.producer.transaction();
    try {
      const outgoing: Outgoing[] = [
        ...features.map((message) => ({ topic: config.topics.features, message })),
        ...dlq.map((message) => ({ topic: config.topics.dlq, message })),
        ...changelog.map((r) => ({
          topic: config.topics.processorState,
          message: { key: r.key, value: r.value, partition },
        })),
      ];
      // A chunk's rows mostly land in one partition of each output topic; one request for all of
      // them can exceed the broker's message size limit, which is not retriable and would wedge
      // the partition. Several sends inside the same transaction keep it atomic.
      for (const part of splitBySize(outgoing, maxRequestBytes)) await txn.sendBatch({ topicMessages: part });
      await txn.sendOffsets({
        consumerGroupId: groupId,
        topics: [
          { topic: rawTopic, partitions: [{ partition, offset: (BigInt(last.offset) + 1n).toString() }] },
        ],
      });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw err;
    }

    // Committed: now, and only now, the in-memory state and the counters move.
    for (const record of changelog) owner.state.apply(record);
    if (Date.now() - owner.expiredAtMs > expireEveryMs) {
      owner.state.expire(nowNs - retentionNs);
      owner.expiredAtMs = Date.now();
    }
    totals.in += messages.length;
    totals.accepted += counts.accepted;
    totals.rejected += counts.rejected;
    totals.duplicates += counts.duplicates;
    for (const [reason, n] of Object.entries(reasons)) {
      totals.rejectedByReason[reason] = (totals.rejectedByReason[reason] ?? 0) + n;
      m.rejects.inc({ reason }, n);
    }
    m.messages.inc({ result: 'accepted' }, counts.accepted);
    m.messages.inc({ result: 'rejected' }, counts.rejected);
    m.messages.inc({ result: 'duplicate' }, counts.duplicates);
    for (const age of ages) m.latency.observe(age);
    m.chunk.observe((performance.now() - started) / 1000);
    payload.resolveOffset(last.offset);
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    if (batch.isEmpty()) return;
    let owner: Owner;
    try {
      owner = await ownerOf(batch.partition);
    } catch (err) {
      log.error({ err, partition: batch.partition }, 'could not take over the partition; retrying');
      throw err;
    }
    for (let i = 0; i < batch.messages.length; i += chunkMessages) {
      if (!payload.isRunning() || payload.isStale()) return;
      try {
        await processChunk(owner, batch.messages.slice(i, i + chunkMessages), payload);
      } catch (err) {
        // The transaction was aborted; the producer may be fenced or broken. Start over from
        // the committed offset with a fresh owner (and restored state).
        log.error({ err, partition: batch.partition }, 'chunk failed, partition will be taken over again');
        await release(batch.partition);
        throw err;
      }
      await payload.heartbeat();
    }
    m.lag.set({ partition: String(batch.partition) }, Number(batch.offsetLag()));
  };

  const consumer = supervisedConsumer({
    logger: log,
    create: () => {
      const c: Consumer = kafka.consumer({
        groupId,
        readUncommitted: false,
        allowAutoTopicCreation: false,
        // A killed instance keeps its partitions until its session times out: short enough for a
        // quick takeover, long enough for a partition restore between heartbeats.
        sessionTimeout: 15_000,
        heartbeatInterval: 1_500,
        maxBytesPerPartition: 4 * 1024 * 1024,
      });
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        const assigned = new Set(payload.memberAssignment[rawTopic] ?? []);
        totals.partitions = [...assigned].sort((a, b) => a - b);
        log.info({ partitions: totals.partitions }, 'partitions assigned');
        options.onAssigned?.(totals.partitions);
        for (const partition of [...owners.keys()]) if (!assigned.has(partition)) void release(partition);
      });
      return c;
    },
    run: async (c) => {
      await c.connect();
      await c.subscribe({ topic: rawTopic, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 6,
        eachBatch,
      });
    },
    // A replaced consumer joins the group anew; another member may have owned (and moved) any
    // partition meanwhile, so every partition's state is restored from the changelog again.
    onReplace: async () => {
      await Promise.all([...owners.keys()].map(release));
    },
  });
  await consumer.start();
  log.info({ groupId }, 'processor started');

  let closing: Promise<void> | undefined;
  return {
    stats: () => ({ ...totals, rejectedByReason: { ...totals.rejectedByReason } }),
    close: () => {
      closing ??= (async () => {
        await consumer.close();
        await Promise.all([...owners.keys()].map(release));
        log.info({ ...totals }, 'processor stopped');
      })();
      return closing;
    },
  };
}
