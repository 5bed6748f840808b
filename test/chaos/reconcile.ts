/**
 * The reconciliation check every chaos run ends with (it generalises the byte-for-byte check of
 * test/e2e/sink-faults.test.ts to a pipeline whose every stage was killed and whose every service
 * was restarted).
 *
 * What counts as produced: every message on the raw topic. What "lost" means: a message on the
 * raw topic that does not reach the analyst views as it should. Polls that a SIGKILLed producer
 * had built but Kafka had not yet stored never reached the topic: they were never produced, and
 * the slots they leave are reported (`slotGaps`), not counted as loss. A poll sent twice (a resend
 * after a broker restart whose first copy did land) is a duplicate: the views show it once.
 *
 * Checks, each one of `failures` when it does not hold:
 * - every decodable, validly signed envelope on the topic is in `v_raw_envelopes` once, byte for
 *   byte (the copy at the highest offset: ReplacingMergeTree's version is the Kafka offset), in
 *   `v_features` once, and in `v_metrics` with all its metrics; nothing else is in those views;
 * - every poison pill the test put on the topic is in `v_dlq` once;
 * - the processor's books close on the topics themselves, read committed: raw messages = feature
 *   rows + dead letters + duplicates, with every idempotency key once on the features topic.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { decodeEnvelope, verifyEnvelopeBytes } from '../../src/core/envelope/index.ts';
import { decodeFeatureRow } from '../../src/core/features/index.ts';
import { unframe } from '../../src/core/registry/index.ts';
import type { TestDatabase } from '../helpers/clickhouse.ts';

/** A message read back from a topic. */
export interface TopicRecord {
  partition: number;
  offset: bigint;
  key: string | null;
  value: Buffer;
}

/**
 * Reads a topic from its beginning to the high watermark of every partition as it was when the
 * call started (read committed: aborted transactions and markers are skipped but count as read).
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<TopicRecord[]> {
  // A consumer that joins its group right after a broker restart can stay stuck joining (seen once
  // in a bounded CI run, though the topic read fine from another process): a fresh group per
  // attempt, and an attempt that times out is abandoned without waiting on its disconnect.
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await readTopicOnce(kafka, topic, timeoutMs);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

async function readTopicOnce(kafka: Kafka, topic: string, timeoutMs: number): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const target = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const reached = new Map<number, bigint>([...target.keys()].map((p) => [p, 0n]));
  const done = () => [...target].every(([p, end]) => (reached.get(p) ?? 0n) >= end);
  const records: TopicRecord[] = [];
  if (done()) return records;
  const consumer = kafka.consumer({
    groupId: `amoskys-chaos-read-${randomBytes(4).toString('hex')}`,
    readUncommitted: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `reading ${topic}: ${[...target].map(([p, end]) => `partition ${p} at ${reached.get(p)} of ${end}`).join(', ')} after ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      const advance = (partition: number, lastOffset: string) => {
        const next = BigInt(lastOffset) + 1n;
        if (next > (reached.get(partition) ?? 0n)) reached.set(partition, next);
        if (done()) {
          clearTimeout(timer);
          resolve();
        }
      };
      // A fetch holding only transaction markers reaches eachBatch as an empty batch, or not at
      // all; this event comes either way.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        advance(payload.partition, payload.lastOffset),
      );
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages as KafkaMessage[]) {
              if (BigInt(m.offset) >= (target.get(batch.partition) ?? 0n)) continue;
              records.push({
                partition: batch.partition,
                offset: BigInt(m.offset),
                key: m.key?.toString() ?? null,
                value: m.value ?? Buffer.alloc(0),
              });
            }
            if (batch.messages.length > 0) advance(batch.partition, batch.lastOffset());
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await Promise.race([
      consumer.disconnect().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 5000).unref()),
    ]);
  }
  return records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
}

/** What the raw topic says the views must hold. */
export interface Expected {
  /** Per idempotency key: the bytes of its copy at the highest offset, and its metrics. */
  envelopes: Map<string, { hex: string; metricKeys: Set<string>; copies: number; distinctCopies: number }>;
  /** Values of messages that are not valid envelopes (the test's poison pills and anything else). */
  invalid: Buffer[];
  /** Raw messages in all. */
  messages: number;
  /** Raw messages that repeat a key already carried by an earlier valid message. */
  duplicates: number;
  /** Slots between a device's first and last on the topic that no message carries: polls never produced. */
  slotGaps: { device: string; slotStartMs: number }[];
}

/** Classifies every raw message. `publicKey` is the producer's key (the one the trust store holds). */
export function expectationsOf(raw: readonly TopicRecord[], publicKey: Uint8Array): Expected {
  const envelopes: Expected['envelopes'] = new Map();
  const distinct = new Map<string, Set<string>>();
  const slots = new Map<string, { intervalS: bigint; slots: bigint[] }>();
  const invalid: Buffer[] = [];
  let duplicates = 0;
  for (const m of raw) {
    const framed = unframe(m.value);
    const decoded = framed.ok ? decodeEnvelope(framed.payload) : undefined;
    const verified = framed.ok ? verifyEnvelopeBytes(framed.payload, () => publicKey) : undefined;
    if (!framed.ok || !decoded?.ok || !verified?.ok || decoded.envelope.telemetry === undefined) {
      invalid.push(m.value);
      continue;
    }
    const key = decoded.envelope.header.idempotencyKey;
    const hex = m.value.toString('hex').toUpperCase();
    const metricKeys = new Set(decoded.envelope.telemetry.metrics.map((x) => `${x.name}\u0000${x.oid}`));
    const seen = envelopes.get(key);
    if (seen === undefined) {
      envelopes.set(key, { hex, metricKeys, copies: 1, distinctCopies: 1 });
      distinct.set(key, new Set([hex]));
      const [, device, intervalS, slot] = /^(.+)\/(\d+)\/(\d+)$/.exec(key) ?? [];
      if (device !== undefined && intervalS !== undefined && slot !== undefined) {
        const of = slots.get(device) ?? { intervalS: BigInt(intervalS), slots: [] };
        of.slots.push(BigInt(slot));
        slots.set(device, of);
      }
      continue;
    }
    duplicates++;
    // Copies of one key share a partition (key = device id), and `raw` is in offset order: the
    // later copy is the one ReplacingMergeTree keeps. Metric rows are keyed by name and OID, so a
    // re-poll with other rows leaves the union of both.
    seen.hex = hex;
    for (const k of metricKeys) seen.metricKeys.add(k);
    seen.copies++;
    distinct.get(key)?.add(hex);
    seen.distinctCopies = distinct.get(key)?.size ?? 1;
  }
  const slotGaps: Expected['slotGaps'] = [];
  for (const [device, { intervalS, slots: list }] of slots) {
    const present = new Set(list);
    const sorted = [...present].sort((a, b) => (a < b ? -1 : 1));
    const last = sorted[sorted.length - 1] as bigint;
    for (let slot = sorted[0] as bigint; slot < last; slot++) {
      if (!present.has(slot)) slotGaps.push({ device, slotStartMs: Number(slot * intervalS * 1000n) });
    }
  }
  return { envelopes, invalid, messages: raw.length, duplicates, slotGaps };
}

/** The verdict: figures for the report, and every check that failed, in words. */
export interface Reconciliation {
  figures: Record<string, number>;
  failures: string[];
}

const sample = (items: readonly string[]) =>
  `${items.slice(0, 5).join(', ')}${items.length > 5 ? `, ... (${items.length})` : ''}`;

/** Compares the views and the processor's output topics with what the raw topic holds. */
export async function reconcile(options: {
  db: TestDatabase;
  database: string;
  expected: Expected;
  /** The features topic, read committed. */
  features: readonly TopicRecord[];
  /** The DLQ topic, read committed. */
  dlq: readonly TopicRecord[];
  /** Values of the poison pills the test produced. */
  poison: readonly Buffer[];
}): Promise<Reconciliation> {
  const { db, database, expected } = options;
  const failures: string[] = [];
  const keys = expected.envelopes;

  // The archive: every key once, the bytes of its last copy.
  const raw = await db.rows<{ idempotency_key: string; hex: string }>(
    `SELECT idempotency_key, hex(bytes) AS hex FROM ${database}.v_raw_envelopes`,
  );
  const rawCount = new Map<string, number>();
  const wrongBytes: string[] = [];
  for (const r of raw) {
    rawCount.set(r.idempotency_key, (rawCount.get(r.idempotency_key) ?? 0) + 1);
    const want = keys.get(r.idempotency_key);
    if (want !== undefined && want.hex !== r.hex) wrongBytes.push(r.idempotency_key);
  }
  const check = (what: string, offenders: readonly string[]) => {
    if (offenders.length > 0) failures.push(`${what}: ${sample(offenders)}`);
  };
  check(
    'produced but not in v_raw_envelopes (lost)',
    [...keys.keys()].filter((k) => !rawCount.has(k)),
  );
  check(
    'twice or more in v_raw_envelopes',
    [...rawCount].filter(([, n]) => n > 1).map(([k]) => k),
  );
  check(
    'in v_raw_envelopes but never produced',
    [...rawCount.keys()].filter((k) => !keys.has(k)),
  );
  check('in v_raw_envelopes with other bytes than produced', wrongBytes);

  // Feature rows: every key once.
  const features = await db.rows<{ idempotency_key: string; n: string }>(
    `SELECT idempotency_key, count() AS n FROM ${database}.v_features GROUP BY idempotency_key`,
  );
  const featureKeys = new Map(features.map((f) => [f.idempotency_key, Number(f.n)]));
  check(
    'produced but not in v_features (lost)',
    [...keys.keys()].filter((k) => !featureKeys.has(k)),
  );
  check(
    'twice or more in v_features',
    [...featureKeys].filter(([, n]) => n > 1).map(([k]) => k),
  );
  check(
    'in v_features but never produced',
    [...featureKeys.keys()].filter((k) => !keys.has(k)),
  );

  // Metrics: every metric of every envelope, once.
  const metrics = await db.rows<{ idempotency_key: string; n: string; distinct: string }>(
    `SELECT idempotency_key, count() AS n, uniqExact(metric_name, oid) AS distinct
     FROM ${database}.v_metrics GROUP BY idempotency_key`,
  );
  const metricRows = new Map(metrics.map((m) => [m.idempotency_key, m]));
  const incomplete: string[] = [];
  const repeated: string[] = [];
  let metricsExpected = 0;
  let metricsStored = 0;
  for (const [key, want] of keys) {
    metricsExpected += want.metricKeys.size;
    const got = metricRows.get(key);
    const n = Number(got?.n ?? 0);
    metricsStored += n;
    if (Number(got?.distinct ?? 0) !== want.metricKeys.size) {
      incomplete.push(`${key} (${got?.distinct ?? 0} of ${want.metricKeys.size})`);
    }
    if (n !== Number(got?.distinct ?? 0)) repeated.push(key);
  }
  check('in v_metrics without all their metrics (lost)', incomplete);
  check('with a metric twice in v_metrics', repeated);
  check(
    'in v_metrics but never produced',
    [...metricRows.keys()].filter((k) => !keys.has(k)),
  );

  // Dead letters: every poison pill once; nothing else was invalid.
  const dlqRows = await db.rows<{ hex: string; n: string }>(
    `SELECT hex(bytes) AS hex, count() AS n FROM ${database}.v_dlq GROUP BY hex`,
  );
  const dlqCount = new Map(dlqRows.map((d) => [d.hex, Number(d.n)]));
  const poisonHex = options.poison.map((p) => p.toString('hex').toUpperCase());
  check(
    'poison pills not in v_dlq',
    poisonHex.filter((h) => !dlqCount.has(h)).map((h) => Buffer.from(h, 'hex').toString()),
  );
  check(
    'twice or more in v_dlq',
    [...dlqCount].filter(([, n]) => n > 1).map(([h]) => Buffer.from(h, 'hex').toString().slice(0, 40)),
  );
  check(
    'invalid raw messages the test did not produce',
    expected.invalid
      .map((v) => v.toString('hex').toUpperCase())
      .filter((h) => !poisonHex.includes(h))
      .map((h) => h.slice(0, 40)),
  );

  // The processor's books, on its own output topics (read committed).
  const featureTopicKeys = new Map<string, number>();
  for (const f of options.features) {
    const framed = unframe(f.value);
    const row = framed.ok ? decodeFeatureRow(framed.payload) : undefined;
    const key = row?.ok ? row.row.idempotencyKey : `<undecodable at ${f.partition}:${f.offset}>`;
    featureTopicKeys.set(key, (featureTopicKeys.get(key) ?? 0) + 1);
  }
  check(
    'twice or more on the features topic (read committed)',
    [...featureTopicKeys].filter(([, n]) => n > 1).map(([k]) => k),
  );
  check(
    'produced but not on the features topic',
    [...keys.keys()].filter((k) => !featureTopicKeys.has(k)),
  );
  const books = options.features.length + options.dlq.length + expected.duplicates;
  if (expected.messages !== books) {
    failures.push(
      `processor books do not close: raw ${expected.messages} != features ${options.features.length} + dead letters ${options.dlq.length} + duplicates ${expected.duplicates}`,
    );
  }

  return {
    figures: {
      rawMessages: expected.messages,
      envelopes: keys.size,
      duplicates: expected.duplicates,
      rePolledSlots: [...keys.values()].filter((e) => e.distinctCopies > 1).length,
      invalid: expected.invalid.length,
      archiveRows: raw.length,
      featureRows: features.reduce((sum, f) => sum + Number(f.n), 0),
      metricRowsExpected: metricsExpected,
      metricRows: metricsStored,
      deadLetterRows: dlqRows.reduce((sum, d) => sum + Number(d.n), 0),
      featuresTopic: options.features.length,
      dlqTopic: options.dlq.length,
      slotGaps: expected.slotGaps.length,
    },
    failures,
  };
}
