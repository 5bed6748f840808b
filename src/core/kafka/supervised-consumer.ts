/**
 * A kafkajs consumer that is replaced when kafkajs gives up on it.
 *
 * kafkajs restarts a crashed consumer by itself only when it judges the error retriable (the CRASH
 * event's `restart` flag). Some errors a restarting broker causes are not judged so: with a single
 * broker down, finding the group coordinator fails with `KafkaJSGroupCoordinatorNotFound`, a
 * non-retriable error, and the consumer stops for good while the process lives on, consuming
 * nothing (found by the fault-injection suite, test/chaos). Here the crash is honoured: the
 * stopped consumer is disconnected and a new one, made and wired by the caller, is started with
 * backoff until it runs (or the stage closes).
 *
 * Delivery is unchanged: a new consumer resumes from the group's committed offsets. What the
 * stage holds for the partitions it owned must be dropped (`onReplace`), because by the time the
 * new consumer joins, another member may have owned and moved them.
 */
import type { Consumer } from 'kafkajs';
import pRetry from 'p-retry';
import type { Logger } from '../logging/index.ts';

/** Options of {@link startSupervisedConsumer}. */
export interface SupervisedConsumerOptions {
  /** Makes a new consumer with the stage's configuration and event handlers (not connected). */
  create: () => Consumer;
  /** Connects, subscribes and runs a consumer made by `create`. */
  run: (consumer: Consumer) => Promise<void>;
  logger: Logger;
  /** Called after the stopped consumer is gone and before its replacement starts. */
  onReplace?: () => Promise<void> | void;
  /** Backoff between attempts to start a replacement, ms. @default { minMs: 500, maxMs: 10_000 } */
  retry?: { minMs: number; maxMs: number };
}

/** The consumer in service. */
export interface SupervisedConsumer {
  /** Starts the first consumer; rejects when it cannot start, as a failed start should. */
  start(): Promise<void>;
  /** The consumer running now (changes when one is replaced): pause, resume, commit through it. */
  current(): Consumer;
  /** How many times a consumer was replaced. */
  replacements(): number;
  /** Stops replacing and disconnects the current consumer. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A supervised consumer; nothing runs before `start()`. The object exists first so that the
 * stage's handlers can refer to it (`current()`) from the first batch on.
 */
export function supervisedConsumer(options: SupervisedConsumerOptions): SupervisedConsumer {
  const { logger: log } = options;
  const retry = options.retry ?? { minMs: 500, maxMs: 10_000 };
  const stopping = new AbortController();
  let current: Consumer | undefined;
  let replacing: Promise<void> | undefined;
  let replaced = 0;

  const launch = async (): Promise<void> => {
    const consumer = options.create();
    current = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (stopping.signal.aborted || consumer !== current) return;
      if (payload.restart) {
        log.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      log.error(
        { err: payload.error },
        'consumer crashed and kafkajs gave up on it; starting a new consumer',
      );
      replacing ??= replace(consumer).finally(() => {
        replacing = undefined;
      });
    });
    try {
      await options.run(consumer);
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
  };

  const replace = async (stopped: Consumer): Promise<void> => {
    await stopped.disconnect().catch(() => undefined);
    try {
      await pRetry(
        async () => {
          if (stopping.signal.aborted) return;
          await options.onReplace?.();
          await launch();
        },
        {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: retry.minMs,
          maxTimeout: retry.maxMs,
          randomize: true,
          signal: stopping.signal,
          onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
            if (attemptNumber === 1 || attemptNumber % 10 === 0) {
              log.warn({ err: error, attemptNumber, retryDelay }, 'could not start a new consumer; retrying');
            }
          },
        },
      );
    } catch (err) {
      // Only an abort ends the retries: the stage is closing.
      if (!stopping.signal.aborted) throw err;
      return;
    }
    if (!stopping.signal.aborted) {
      replaced++;
      log.info({ replacements: replaced }, 'new consumer running');
    }
  };

  let closing: Promise<void> | undefined;
  return {
    start: launch,
    current: () => {
      if (current === undefined) throw new Error('supervisedConsumer: start() was not called');
      return current;
    },
    replacements: () => replaced,
    close: () => {
      closing ??= (async () => {
        stopping.abort();
        await replacing?.catch(() => undefined);
        await current?.disconnect();
      })();
      return closing;
    },
  };
}
