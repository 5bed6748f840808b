/**
 * A batching Kafka producer. kafkajs sends what it is given, one request per `send`; awaiting a
 * `send` per message caps throughput at one round trip per message. This queues messages and
 * sends them in batches (by count, bytes or linger time) through one idempotent producer with
 * acks=all and gzip, one batch in flight at a time so that order per partition holds.
 *
 * Delivery: at least once. `send()` resolves only once the batch holding the message was
 * acknowledged by all in-sync replicas; a failed batch is resent unchanged (same bytes, same keys)
 * with backoff until `sendDeadlineMs`, then its messages are rejected to the caller. The queue is
 * bounded: `send()` waits for room, which slows the caller instead of growing memory.
 */
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import pRetry from 'p-retry';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../logging/index.ts';

const { CompressionTypes, Partitioners } = kafkajs;

/** One message to produce. */
export interface OutgoingMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** Options of {@link BatchProducer}. */
export interface BatchProducerOptions {
  /** @default 500 */
  maxBatchMessages?: number;
  /** Upper bound of a batch's value bytes. @default 1_000_000 */
  maxBatchBytes?: number;
  /** How long a lone message waits for company before its batch is sent, ms. @default 20 */
  lingerMs?: number;
  /** Messages queued or in flight before `send()` waits for room. @default 10_000 */
  maxQueuedMessages?: number;
  /** How long one batch is retried before its messages are rejected, ms. @default 120_000 */
  sendDeadlineMs?: number;
  /** First and longest pause between resends, ms. @default [100, 5000] */
  retryBackoffMs?: readonly [number, number];
  /** Where the producer's metrics go. */
  metrics?: Registry;
}

interface Pending {
  message: OutgoingMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** See the module comment. `start()` before `send()`; `close()` flushes and is safe twice. */
export class BatchProducer {
  readonly #producer: Producer;
  readonly #logger: Logger;
  readonly #options: Required<Omit<BatchProducerOptions, 'metrics'>>;
  readonly #queue: Pending[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #roomWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  readonly #abort = new AbortController();
  readonly #m: {
    messages: Counter<'topic'>;
    bytes: Counter<'topic'>;
    batch: Histogram;
    latency: Histogram;
    errors: Counter;
    queued: Gauge;
  };

  constructor(kafka: Kafka, logger: Logger, options: BatchProducerOptions = {}) {
    this.#producer = kafka.producer({
      idempotent: true,
      // kafkajs keeps ordering under idempotence only with one request in flight per connection.
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.#logger = logger;
    this.#options = {
      maxBatchMessages: options.maxBatchMessages ?? 500,
      maxBatchBytes: options.maxBatchBytes ?? 1_000_000,
      lingerMs: options.lingerMs ?? 20,
      maxQueuedMessages: options.maxQueuedMessages ?? 10_000,
      sendDeadlineMs: options.sendDeadlineMs ?? 120_000,
      retryBackoffMs: options.retryBackoffMs ?? [100, 5000],
    };
    const registers = options.metrics === undefined ? [] : [options.metrics];
    this.#m = {
      messages: new Counter({
        name: 'amoskys_kafka_messages_produced_total',
        help: 'Messages acknowledged by Kafka',
        labelNames: ['topic'],
        registers,
      }),
      bytes: new Counter({
        name: 'amoskys_kafka_bytes_produced_total',
        help: 'Value bytes acknowledged by Kafka (before compression)',
        labelNames: ['topic'],
        registers,
      }),
      batch: new Histogram({
        name: 'amoskys_kafka_batch_messages',
        help: 'Messages per batch sent',
        buckets: [1, 5, 25, 100, 250, 500, 1000],
        registers,
      }),
      latency: new Histogram({
        name: 'amoskys_kafka_send_seconds',
        help: 'Time from a batch leaving the queue to its acknowledgement',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
      errors: new Counter({ name: 'amoskys_kafka_send_errors_total', help: 'Failed batch sends', registers }),
      queued: new Gauge({
        name: 'amoskys_kafka_queued_messages',
        help: 'Messages queued or in flight',
        registers,
      }),
    };
  }

  async start(): Promise<void> {
    await this.#producer.connect();
  }

  /** Resolves when the queue has room for another message. */
  async ready(): Promise<void> {
    while (this.#queue.length + this.#inFlight >= this.#options.maxQueuedMessages) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  /** Queues a message; resolves once Kafka acknowledged it, rejects if it could not be sent. */
  async send(message: OutgoingMessage): Promise<void> {
    if (this.#closing !== undefined) throw new Error('BatchProducer is closed');
    await this.ready();
    const acked = new Promise<void>((resolve, reject) => this.#queue.push({ message, resolve, reject }));
    this.#m.queued.set(this.#queue.length + this.#inFlight);
    if (this.#queue.length >= this.#options.maxBatchMessages) this.#drain();
    else this.#timer ??= setTimeout(() => this.#drain(), this.#options.lingerMs);
    return acked;
  }

  /** Resolves when everything queued so far was acknowledged (or rejected). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining !== undefined) {
      this.#drain();
      await this.#draining;
    }
  }

  /** Flushes, then disconnects. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.flush();
      this.#abort.abort();
      await this.#producer.disconnect();
    })();
    return this.#closing;
  }

  #drain(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#draining ??= this.#sendAll().finally(() => {
      this.#draining = undefined;
      // Messages queued while the last batch was in flight.
      if (this.#queue.length > 0) this.#timer ??= setTimeout(() => this.#drain(), this.#options.lingerMs);
    });
  }

  async #sendAll(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      this.#inFlight = batch.length;
      try {
        await this.#sendBatch(batch);
        for (const p of batch) p.resolve();
      } catch (err) {
        this.#logger.error({ err, messages: batch.length }, 'batch not delivered before its deadline');
        for (const p of batch) p.reject(err);
      } finally {
        this.#inFlight = 0;
        this.#m.queued.set(this.#queue.length);
        for (const wake of this.#roomWaiters.splice(0)) wake();
      }
    }
  }

  #takeBatch(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < this.#options.maxBatchMessages) {
      const size = (this.#queue[n] as Pending).message.value.length;
      if (n > 0 && bytes + size > this.#options.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  async #sendBatch(batch: readonly Pending[]): Promise<void> {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { message } of batch) {
      const list = byTopic.get(message.topic) ?? [];
      list.push(message);
      byTopic.set(message.topic, list);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({
      topic,
      messages: messages.map((m) => ({
        key: m.key,
        value: m.value,
        ...(m.headers ? { headers: m.headers } : {}),
      })),
    }));
    const [minBackoff, maxBackoff] = this.#options.retryBackoffMs;
    const started = process.hrtime.bigint();
    await pRetry(
      () => this.#producer.sendBatch({ acks: -1, compression: CompressionTypes.GZIP, topicMessages }),
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: minBackoff,
        maxTimeout: maxBackoff,
        randomize: true,
        maxRetryTime: this.#options.sendDeadlineMs,
        signal: this.#abort.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          this.#m.errors.inc();
          // One line per attempt of a batch, not per message.
          this.#logger.warn(
            { err: error, attempt: attemptNumber, messages: batch.length },
            'batch send failed, resending',
          );
        },
      },
    );
    this.#m.latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.#m.batch.observe(batch.length);
    for (const [topic, messages] of byTopic) {
      this.#m.messages.inc({ topic }, messages.length);
      this.#m.bytes.inc(
        { topic },
        messages.reduce((sum, m) => sum + m.value.length, 0),
      );
    }
  }
}
