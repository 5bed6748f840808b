/**
 * The SNMP producer stage.
 *
 * Consumes: SNMP agents listed in the device inventory (GET for scalars, GETBULK walks for tables).
 * Produces: `amoskys.telemetry.raw.v1` (config `topics.raw`), key = device_id, value = a signed
 *   UniversalEnvelope in the Confluent wire format (schema id of `<topic>-value`, index [0]).
 *   Every poll produces one envelope, an unreachable device included (its status says why).
 * Delivery: at least once. A poll's envelope is built and signed once; the batching producer
 *   resends the same bytes until Kafka acknowledges them (acks=all, idempotent producer).
 * Idempotency key: `<device_id>/<interval_s>/<slot>` — the same for a retried poll of a slot,
 *   different for every other poll.
 */
import type { Kafka } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Config } from '../../core/config/index.ts';
import type { Signer } from '../../core/crypto/index.ts';
import { buildSignedEnvelope, envelopeSchema } from '../../core/envelope/index.ts';
import { AmoskysError, ErrorCode } from '../../core/errors/index.ts';
import { BatchProducer } from '../../core/kafka/index.ts';
import type { Logger } from '../../core/logging/index.ts';
import { frame, lookupSchema, whenRegistryAnswers } from '../../core/registry/index.ts';
import type { DevicePoll } from '../../core/telemetry/index.ts';
import { createScheduler, type MissedSlot, type Scheduler } from './scheduler.ts';
import type { Device, SchedulerStats } from './types.ts';

/** What {@link startProducer} needs. */
export interface ProducerStageOptions {
  config: Config;
  kafka: Kafka;
  devices: readonly Device[];
  signer: Signer;
  logger: Logger;
  metrics: Registry;
  /** Polls at most this many devices at once. @default scheduler default */
  maxConcurrentPolls?: number;
  /** Called after each envelope was acknowledged by Kafka (tests, progress). */
  onProduced?: (poll: DevicePoll, bytes: number) => void;
}

/** A running producer stage. */
export interface ProducerStage {
  /** Stops polling, then flushes what was polled. Safe to call twice. */
  close(): Promise<void>;
  stats(): ProducerStats;
}

export interface ProducerStats {
  scheduler: SchedulerStats;
  envelopesProduced: number;
  envelopesFailed: number;
  bytesCollected: number;
  bytesProduced: number;
}

/**
 * Looks up the schema id of the raw topic's value subject; it must have been registered. With a
 * logger, a registry that does not answer is waited for (see `whenRegistryAnswers`).
 */
export async function rawSchemaId(config: Config, logger?: Logger): Promise<number> {
  const subject = `${config.topics.raw}-value`;
  const lookup = () => lookupSchema(config, subject, envelopeSchema.source);
  const found = await (logger === undefined
    ? lookup()
    : whenRegistryAnswers(lookup, { logger, what: `the envelope schema id (${subject})` }));
  if (found === undefined) {
    throw new AmoskysError(
      ErrorCode.Registry,
      `the envelope schema is not registered under ${subject} at ${config.registry.url}; run \`amoskys schemas apply\` first`,
      { retriable: false, context: { subject } },
    );
  }
  return found.id;
}

export async function startProducer(options: ProducerStageOptions): Promise<ProducerStage> {
  const { config, logger, metrics } = options;
  const log = logger.child({ component: 'producer', topic: config.topics.raw });
  const schemaId = await rawSchemaId(config, log);
  const m = {
    polls: new Counter({
      name: 'amoskys_snmp_polls_total',
      help: 'Polls by outcome',
      labelNames: ['state'],
      registers: [metrics],
    }),
    collected: new Counter({
      name: 'amoskys_snmp_bytes_collected_total',
      help: 'Bytes of SNMP responses received',
      registers: [metrics],
    }),
    metricValues: new Counter({
      name: 'amoskys_snmp_metric_values_total',
      help: 'Metric values read and put into envelopes',
      registers: [metrics],
    }),
    missed: new Counter({
      name: 'amoskys_snmp_missed_slots_total',
      help: 'Poll slots not polled, by reason',
      labelNames: ['reason'],
      registers: [metrics],
    }),
    envelopes: new Counter({
      name: 'amoskys_producer_envelopes_total',
      help: 'Envelopes by result: produced (acknowledged) or failed',
      labelNames: ['result'],
      registers: [metrics],
    }),
    pollSeconds: new Histogram({
      name: 'amoskys_snmp_poll_seconds',
      help: 'Wall time of one poll',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metrics],
    }),
  };
  const totals = { produced: 0, failed: 0, collected: 0, producedBytes: 0 };

  const producer = new BatchProducer(options.kafka, log, { metrics });
  await producer.start();

  const onPoll = async (poll: DevicePoll): Promise<void> => {
    m.polls.inc({ state: poll.status.state });
    m.collected.inc(poll.status.bytesCollected);
    m.metricValues.inc(poll.metrics.length);
    m.pollSeconds.observe(poll.status.durationMs / 1000);
    totals.collected += poll.status.bytesCollected;
    const envelope = buildSignedEnvelope(poll, options.signer, BigInt(Date.now()) * 1_000_000n);
    const framed = frame(schemaId, envelopeSchema.messageIndexes, envelope);
    // A view, not a copy: the framed bytes are this envelope's alone.
    const value = Buffer.from(framed.buffer, framed.byteOffset, framed.byteLength);
    // Wait for room in the producer's queue (backpressure on the scheduler), not for the ack:
    // acks arrive per batch, and a poll's permit should not wait for the next linger.
    await producer.ready();
    producer.send({ topic: config.topics.raw, key: poll.deviceId, value }).then(
      () => {
        totals.produced++;
        totals.producedBytes += value.length;
        m.envelopes.inc({ result: 'produced' });
        options.onProduced?.(poll, value.length);
      },
      (err: unknown) => {
        totals.failed++;
        m.envelopes.inc({ result: 'failed' });
        log.error({ err, device: poll.deviceId, slot: String(poll.slot) }, 'envelope not delivered');
      },
    );
  };

  const scheduler: Scheduler = createScheduler({
    devices: options.devices,
    onPoll,
    onMissedSlot: (missed: MissedSlot) => m.missed.inc({ reason: missed.reason }),
    logger: log,
    ...(options.maxConcurrentPolls === undefined ? {} : { maxConcurrentPolls: options.maxConcurrentPolls }),
  });
  scheduler.start();
  log.info({ devices: options.devices.length, schemaId }, 'producer started');

  let closing: Promise<void> | undefined;
  return {
    close: () => {
      // Shutdown order: stop polling, hand the last polls over, then flush them to Kafka.
      closing ??= (async () => {
        await scheduler.close();
        await producer.close();
        log.info({ ...totals }, 'producer stopped');
      })();
      return closing;
    },
    stats: () => ({
      scheduler: scheduler.stats(),
      envelopesProduced: totals.produced,
      envelopesFailed: totals.failed,
      bytesCollected: totals.collected,
      bytesProduced: totals.producedBytes,
    }),
  };
}
