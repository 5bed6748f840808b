/**
 * Reads records of one topic for inspection, without touching anyone's committed offsets.
 *
 * kafkajs has no group-less consumer, so this uses a consumer group of its own (random id,
 * auto-commit off, deleted afterwards) and seeks each partition to where reading starts. End
 * offsets are fetched first (read_committed, as the consumer reads): a partition whose start is
 * its end is never waited on, so an empty topic returns at once. Reading stops after `limit`
 * matching records, when every partition reached its end offset as fetched at the start, or when
 * nothing arrived for `idleTimeoutMs` (an open transaction holds the end back; the result says so).
 *
 * Positions come from the consumer's END_BATCH_PROCESS events, which kafkajs also emits for
 * batches that hold only transaction markers (the features and DLQ topics are transactional):
 * the last offset of a partition is often a commit marker that no message handler ever sees.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, IHeaders, Kafka } from 'kafkajs';
import { InputError } from '../../core/errors/index.ts';

/** One record as read. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Record timestamp, ms since the epoch. */
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as UTF-8; for a repeated header, the last value. */
  headers: Record<string, string>;
}

/** Offsets of one partition. */
export interface PartitionOffsets {
  partition: number;
  /** First offset still held. */
  low: bigint;
  /** One past the last readable offset (read_committed). */
  high: bigint;
}

/** Where reading one partition starts and ends. */
export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  start: bigint;
  /** Reading stops when the position reaches this offset. */
  end: bigint;
}

/** Which part of a topic to read. */
export interface ReadPlanOptions {
  /** Only these partitions. @default all */
  partitions?: readonly number[];
  /** Start at this offset in every selected partition (clamped to what the partition holds). */
  startOffset?: bigint;
  /** Start this many records before each partition's end (newest records); ignored with `startOffset`. */
  tail?: number;
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  if (value < low) return low;
  return value > high ? high : value;
}

/**
 * The range to read of each partition. Pure.
 * @throws InputError for a partition the topic does not have
 */
export function planRead(
  topic: string,
  offsets: readonly PartitionOffsets[],
  options: ReadPlanOptions,
): PartitionRange[] {
  const known = new Set(offsets.map((o) => o.partition));
  for (const p of options.partitions ?? []) {
    if (!known.has(p)) {
      throw new InputError(
        `topic ${topic} has no partition ${p}; it has ${[...known].sort((a, b) => a - b).join(', ')}`,
        { topic, partition: p },
      );
    }
  }
  const wanted = options.partitions === undefined ? undefined : new Set(options.partitions);
  return offsets
    .filter((o) => wanted === undefined || wanted.has(o.partition))
    .map((o) => {
      let start = o.low;
      if (options.startOffset !== undefined) {
        start = clamp(options.startOffset, o.low, o.high);
      } else if (options.tail !== undefined) {
        const from = o.high - BigInt(options.tail);
        start = from > o.low ? from : o.low;
      }
      return { partition: o.partition, start, end: o.high };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** Progress of a read, for people. */
export interface ReadProgress {
  scanned: number;
  matched: number;
  /** Records left to read up to the end offsets. */
  remaining: bigint;
}

/** Options of {@link readTopic}. */
export interface ReadTopicOptions extends ReadPlanOptions {
  topic: string;
  /** Records to return. */
  limit: number;
  /**
   * `first`: the first `limit` matches, then stop. `last`: the last `limit` matches up to the end
   * offsets (reads everything from the start position).
   */
  mode: 'first' | 'last';
  /** Which records count; the others are only scanned. @default every record */
  accept?: (record: KafkaRecord) => boolean;
  /** Stop when no record or batch arrived for this long, ms. @default 15_000 */
  idleTimeoutMs?: number;
  /** Called at most every `progressIntervalMs`. */
  onProgress?: (progress: ReadProgress) => void;
  /** @default 2000 */
  progressIntervalMs?: number;
}

/** Why reading stopped. */
export type StopReason = 'limit' | 'end' | 'idle';

/** What {@link readTopic} found. */
export interface ReadTopicResult {
  records: KafkaRecord[];
  scanned: number;
  stoppedBy: StopReason;
  /** Each partition read: its range and the position reached. */
  partitions: (PartitionRange & { position: bigint })[];
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = value.toString();
  }
  return out;
}

async function fetchOffsets(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) {
    throw new InputError(
      `topic ${topic} does not exist (amoskys topics apply creates the pipeline's topics)`,
      {
        topic,
      },
    );
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
}

/** Keeps the last `size` items pushed. */
class Ring<T> {
  readonly #items: T[] = [];
  readonly #size: number;
  constructor(size: number) {
    this.#size = size;
  }
  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#size) this.#items.shift();
  }
  get items(): T[] {
    return this.#items;
  }
}

interface Pass {
  records: KafkaRecord[];
  scanned: number;
  stoppedBy: StopReason;
  partitions: (PartitionRange & { position: bigint })[];
}

/** One read of the given ranges with a private consumer group, deleted afterwards. */
async function readPass(
  kafka: Kafka,
  admin: Admin,
  ranges: readonly PartitionRange[],
  options: ReadTopicOptions,
): Promise<Pass> {
  const { topic, limit } = options;
  const accept = options.accept ?? (() => true);
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
  const progressIntervalMs = options.progressIntervalMs ?? 2000;
  const positions = new Map(ranges.map((r) => [r.partition, r.start]));
  const startOf = new Map(ranges.map((r) => [r.partition, r.start]));
  const endOf = new Map(ranges.map((r) => [r.partition, r.end]));
  const done = () => ranges.every((r) => (positions.get(r.partition) as bigint) >= r.end);
  const pass = (records: KafkaRecord[], scanned: number, stoppedBy: StopReason): Pass => ({
    records,
    scanned,
    stoppedBy,
    partitions: ranges.map((r) => ({ ...r, position: positions.get(r.partition) as bigint })),
  });
  if (limit <= 0 || done()) return pass([], 0, 'end');

  // `first` keeps every match up to the limit; `last` keeps the newest `limit` of each partition.
  const first: KafkaRecord[] = [];
  const rings = new Map(ranges.map((r) => [r.partition, new Ring<KafkaRecord>(limit)]));
  let scanned = 0;
  let matched = 0;
  let lastActivity = Date.now();
  let lastProgress = Date.now();
  let finish: (reason: StopReason) => void = () => undefined;
  const finished = new Promise<StopReason>((resolve) => {
    finish = resolve;
  });
  let stopped = false;
  const stop = (reason: StopReason) => {
    if (stopped) return;
    stopped = true;
    finish(reason);
  };

  const groupId = `amoskys-inspect-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    // A short session: the group is private and abandoned at the end.
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic) return;
    const next = BigInt(payload.lastOffset) + 1n;
    if (next > (positions.get(payload.partition) ?? -1n)) positions.set(payload.partition, next);
    lastActivity = Date.now();
    if (done()) stop('end');
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = endOf.get(batch.partition);
        if (end === undefined) return;
        for (const message of batch.messages) {
          if (stopped) return;
          const offset = BigInt(message.offset);
          if (offset >= end) break;
          if (offset < (startOf.get(batch.partition) as bigint)) continue;
          scanned++;
          const record: KafkaRecord = {
            topic,
            partition: batch.partition,
            offset: message.offset,
            timestampMs: Number(message.timestamp),
            key: message.key,
            value: message.value,
            headers: headersOf(message.headers),
          };
          if (!accept(record)) continue;
          matched++;
          if (options.mode === 'first') {
            first.push(record);
            if (first.length >= limit) {
              stop('limit');
              return;
            }
          } else {
            rings.get(batch.partition)?.push(record);
          }
        }
        lastActivity = Date.now();
        if (options.onProgress !== undefined && Date.now() - lastProgress >= progressIntervalMs) {
          lastProgress = Date.now();
          let remaining = 0n;
          for (const r of ranges) {
            const left = r.end - (positions.get(r.partition) as bigint);
            if (left > 0n) remaining += left;
          }
          options.onProgress({ scanned, matched, remaining });
        }
      },
    });
    // Seek after run (kafkajs applies it on assignment): every partition starts where planned.
    for (const r of ranges) consumer.seek({ topic, partition: r.partition, offset: r.start.toString() });
    const idle = setInterval(
      () => {
        if (Date.now() - lastActivity >= idleTimeoutMs) stop('idle');
      },
      Math.min(1000, idleTimeoutMs),
    );
    let stoppedBy: StopReason;
    try {
      stoppedBy = await finished;
    } finally {
      clearInterval(idle);
    }
    const records = options.mode === 'first' ? first : [...rings.values()].flatMap((ring) => ring.items);
    return pass(records, scanned, stoppedBy);
  } finally {
    await consumer.disconnect();
    // Nothing was committed, but the group itself lingers on the broker until deleted.
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/**
 * Reads records of a topic (see the module comment). Records come back sorted by partition and
 * offset; in `last` mode, the newest `limit` by timestamp.
 *
 * With `tail`, the window before each partition's end widens until it holds `limit` records or
 * reaches the start: on transactional topics every transaction leaves a commit marker that takes
 * an offset but is no record, so `end - limit` alone can hold fewer records than asked for.
 * @throws InputError when the topic or a partition does not exist
 */
export async function readTopic(kafka: Kafka, options: ReadTopicOptions): Promise<ReadTopicResult> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await fetchOffsets(admin, options.topic);
    let result: Pass;
    let scanned = 0;
    if (options.mode === 'last' && options.tail !== undefined && options.startOffset === undefined) {
      let window = options.tail * 2 + 1;
      for (;;) {
        const ranges = planRead(options.topic, offsets, { ...options, tail: window });
        result = await readPass(kafka, admin, ranges, options);
        scanned += result.scanned;
        const reachedStart = ranges.every(
          (r) => r.start <= (offsets.find((o) => o.partition === r.partition)?.low ?? 0n),
        );
        if (result.records.length >= options.limit || reachedStart || result.stoppedBy === 'idle') break;
        window *= 4;
      }
    } else {
      result = await readPass(kafka, admin, planRead(options.topic, offsets, options), options);
      scanned = result.scanned;
    }
    let records = result.records;
    if (options.mode === 'last') {
      records = records
        .sort(
          (a, b) =>
            a.timestampMs - b.timestampMs ||
            a.partition - b.partition ||
            Number(BigInt(a.offset) - BigInt(b.offset)),
        )
        .slice(-options.limit);
    }
    records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
    return { records, scanned, stoppedBy: result.stoppedBy, partitions: result.partitions };
  } finally {
    await admin.disconnect();
  }
}
