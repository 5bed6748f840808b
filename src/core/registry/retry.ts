/**
 * Registry look-ups a stage needs before it can start (the schema id it frames with, the ids it
 * accepts). A registry that is restarting, or not up yet when the stage starts (compose and
 * Kubernetes start everything at once), is waited for; an answer that means misconfiguration
 * (4xx, a schema not registered) fails at once. Found by the fault-injection suite (test/chaos):
 * a producer or processor started during a registry restart exited with "did not answer".
 */
import pRetry from 'p-retry';
import { AmoskysError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';

/** Options of {@link whenRegistryAnswers}. */
export interface RegistryWaitOptions {
  logger: Logger;
  /** What is looked up, for the log ("the envelope schema id"). */
  what: string;
  /** Give up after this long, ms. @default 300_000 */
  deadlineMs?: number;
  /** Backoff between attempts, ms. @default { minMs: 250, maxMs: 5000 } */
  retry?: { minMs: number; maxMs: number };
}

/** Runs `lookup` until it succeeds or fails with an error that is not retriable (or the deadline passes). */
export function whenRegistryAnswers<T>(lookup: () => Promise<T>, options: RegistryWaitOptions): Promise<T> {
  const retry = options.retry ?? { minMs: 250, maxMs: 5000 };
  return pRetry(lookup, {
    retries: Number.POSITIVE_INFINITY,
    minTimeout: retry.minMs,
    maxTimeout: retry.maxMs,
    randomize: true,
    maxRetryTime: options.deadlineMs ?? 300_000,
    shouldRetry: ({ error }) => error instanceof AmoskysError && error.retriable,
    onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
      if (!(error instanceof AmoskysError && error.retriable)) return;
      // The first failure and then one line in ten: a long outage must not flood the log.
      if (attemptNumber === 1 || attemptNumber % 10 === 0) {
        options.logger.warn(
          { err: error, attemptNumber, retryDelay },
          `Schema Registry not answering; waiting for it to look up ${options.what}`,
        );
      }
    },
  });
}
