/** Lifecycle of long-running commands (`producer run`, `processor run`, `sink run`). */

/**
 * Resolves on SIGINT or SIGTERM, or after `durationS` seconds when given, whichever comes first,
 * and then removes its listeners and timer so that nothing keeps the process alive.
 */
export function untilStopped(durationS?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationS !== undefined) timer = setTimeout(stop, durationS * 1000);
  });
}
