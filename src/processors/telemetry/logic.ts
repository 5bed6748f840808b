/**
 * The processor's logic, assembled from its pure parts: validation (on a pool of worker threads),
 * deduplication keys and flattening (on the main thread, in partition order), dead-letter headers.
 * The runtime in processor.ts calls it; it knows nothing about Kafka.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Registry } from 'prom-client';
import { type Config, trustStoreFile } from '../../core/config/index.ts';
import { TrustStoreWatcher } from '../../core/crypto/index.ts';
import { decodeEnvelope, toDevicePoll } from '../../core/envelope/index.ts';
import { encodeFeatureRow, featuresSchema } from '../../core/features/index.ts';
import type { Logger } from '../../core/logging/index.ts';
import {
  frame,
  lookupSchema,
  subjectSchemaIds,
  unframe,
  whenRegistryAnswers,
} from '../../core/registry/index.ts';
import { flatten } from './flatten.ts';
import type { Accepted, ProcessorLogic, Rejected } from './processor.ts';
import { decodeSnapshot, encodeSnapshot } from './snapshot.ts';
import { RejectReason } from './types.ts';
import { type AcceptedMessage, dlqHeaders } from './validate.ts';
import type { SliceResult, ValidateTask } from './validate-worker.ts';

/** Options of {@link createProcessorLogic}. */
export interface ProcessorLogicOptions {
  config: Config;
  logger: Logger;
  metrics: Registry;
}

/** How often an unknown schema id may trigger a registry look-up, ms. */
const schemaRefreshMs = 5_000;

/** An accepted message: what validation found, and its bytes (the poll is decoded when flattened). */
type Checked = Omit<AcceptedMessage, 'poll'> & Accepted & { value: Buffer };

/** The poll of an accepted message, decoded again from the bytes a worker verified. */
function pollOf(accepted: Checked): AcceptedMessage['poll'] {
  const framed = unframe(accepted.value);
  const decoded = framed.ok ? decodeEnvelope(framed.payload) : undefined;
  const polled = decoded?.ok ? toDevicePoll(decoded.envelope) : undefined;
  // Validation decoded the same bytes with the same functions; failing here is a bug.
  if (!polled?.ok) throw new Error(`accepted message ${accepted.idempotencyKey} no longer decodes`);
  return polled.poll;
}

export async function createProcessorLogic(
  options: ProcessorLogicOptions,
): Promise<{ logic: ProcessorLogic<Checked>; close(): Promise<void> }> {
  const { config } = options;
  const log = options.logger.child({ component: 'processor-logic' });
  const p = config.processor;

  const trust = new TrustStoreWatcher({
    file: trustStoreFile(config),
    logger: options.logger,
  });
  trust.start();

  const rawSubject = `${config.topics.raw}-value`;
  // A registry that is restarting, or not up yet, is waited for rather than failing the start.
  let knownSchemaIds = await whenRegistryAnswers(() => subjectSchemaIds(config, rawSubject), {
    logger: log,
    what: `the ids of ${rawSubject}`,
  });
  let lastRefresh = Date.now();
  const featuresSubject = `${config.topics.features}-value`;
  const features = await whenRegistryAnswers(
    () => lookupSchema(config, featuresSubject, featuresSchema.source),
    { logger: log, what: `the feature row schema id (${featuresSubject})` },
  );
  if (features === undefined) {
    throw new Error(
      `the feature row schema is not registered under ${featuresSubject}; run \`amoskys schemas apply\``,
    );
  }
  if (knownSchemaIds.length === 0) log.warn({ subject: rawSubject }, 'no raw schema registered yet');

  const threads = p.workers === 0 ? availableParallelism() : p.workers;
  const pool = new Piscina<ValidateTask, SliceResult[]>({
    filename: new URL('./validate-worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // A second slice waits at each thread, so that it does not sit idle while the main thread
    // reads the results of the first and hands out the next (bench/processor: ~+25 % per thread).
    concurrentTasksPerWorker: 2,
  });

  const validateAll = async (values: readonly (Buffer | null)[], nowNs: bigint): Promise<SliceResult[]> => {
    // One slice per thread; small chunks stay on one thread (a task has a fixed cost).
    const sliceSize = Math.max(50, Math.ceil(values.length / threads));
    const slices: Promise<SliceResult[]>[] = [];
    for (let i = 0; i < values.length; i += sliceSize) {
      slices.push(
        pool.run({
          values: values.slice(i, i + sliceSize),
          trust: trust.snapshot,
          nowNs,
          freshnessWindowMs: p.freshnessWindowSeconds * 1000,
          maxFutureSkewMs: p.maxFutureSkewSeconds * 1000,
          maxMessageBytes: p.maxMessageBytes,
          knownSchemaIds,
        }),
      );
    }
    return (await Promise.all(slices)).flat();
  };

  // The snapshot each buffer flatten() returned was encoded from, so that the device's next message
  // skips decoding it again (the runtime hands that same buffer back, from the chunk or the
  // partition state). Exact: decodeSnapshot(encodeSnapshot(s)) equals s (snapshot.test.ts).
  const decoded = new WeakMap<Buffer, ReturnType<typeof decodeSnapshot>>();

  const logic: ProcessorLogic<Checked> = {
    async validate(values, nowNs) {
      let results = await validateAll(values, nowNs);
      // A producer may have registered a newer schema version since start: look once, then judge.
      const unknown = results.some((r) => !r.ok && r.reason === RejectReason.UnknownSchemaId);
      if (unknown && Date.now() - lastRefresh > schemaRefreshMs) {
        lastRefresh = Date.now();
        const refreshed = await subjectSchemaIds(config, rawSubject);
        if (refreshed.some((id) => !knownSchemaIds.includes(id))) {
          knownSchemaIds = refreshed;
          results = await validateAll(values, nowNs);
        }
      }
      return results.map((r, i) => (r.ok ? { ...r, value: values[i] as Buffer } : r)) as (
        | Checked
        | Rejected
      )[];
    },
    flatten(accepted, previous) {
      let snapshot: ReturnType<typeof decodeSnapshot> | undefined;
      if (previous !== undefined) {
        snapshot = decoded.get(previous) ?? decodeSnapshot(previous);
        if (!snapshot.ok)
          log.warn({ device: accepted.deviceId, detail: snapshot.detail }, 'unreadable snapshot dropped');
      }
      const { row, next } = flatten(
        {
          poll: pollOf(accepted),
          idempotencyKey: accepted.idempotencyKey,
          envelopeTsNs: accepted.envelopeTsNs,
          signingKeyId: accepted.signingKeyId,
        },
        snapshot?.ok ? snapshot.snapshot : undefined,
      );
      const value = frame(features.id, featuresSchema.messageIndexes, encodeFeatureRow(row));
      const bytes = encodeSnapshot(next);
      // Wrapped, not copied: both arrays are fresh and owned here.
      const snapshotBuffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      decoded.set(snapshotBuffer, { ok: true, snapshot: next });
      return { value: Buffer.from(value.buffer, value.byteOffset, value.length), snapshot: snapshotBuffer };
    },
    dlqHeaders: (rejected, source, nowMs) => dlqHeaders(rejected, source, nowMs),
  };

  return {
    logic,
    close: async () => {
      trust.close();
      await pool.destroy();
    },
  };
}
