import { TimeoutError } from '../../src/core/errors/index.ts';

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** What is awaited, in words, for the timeout message. */
  description: string;
  /** @default 30_000 */
  timeoutMs?: number;
  /** Pause between attempts. @default 100 */
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, and returns it. Throws
 * a TimeoutError naming what was awaited and the last error or value seen. This is how tests
 * synchronise with the real services: on a condition, never on a fixed sleep.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen =
        last instanceof Error ? `last error: ${last.message}` : `last value: ${JSON.stringify(last)}`;
      throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${options.description} (${seen})`, {
        description: options.description,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
