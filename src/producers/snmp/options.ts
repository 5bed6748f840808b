/**
 * Options of the SNMP collection stage: schemas and defaults, apart from the code that uses them.
 * Device-level settings (timeout, retries, interval, deadline) live in the inventory.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors/index.ts';

/** How one poll talks to an agent. */
export const collectorOptionsSchema = z.strictObject({
  /**
   * GETBULK max-repetitions: rows per column per request. 25 reads typical interface and storage
   * tables in one round trip; Net-SNMP's agent still cuts responses to its message size.
   * @default 25
   */
  maxRepetitions: z.number().int().min(1).max(1000),
  /** Scalar OIDs per GET request; a tooBig answer splits the batch. @default 32 */
  maxOidsPerGet: z.number().int().min(1).max(256),
  /** Rows read per column before the walk is cut off. @default 10000 */
  maxRowsPerColumn: z.number().int().min(1),
  /**
   * Ask for as many rows per column as the table had at the device's previous poll (+1, to see
   * its end), instead of maxRepetitions: one round trip, no rows of neighbouring columns.
   * @default true
   */
  adaptiveRepetitions: z.boolean(),
});
export type CollectorOptions = z.infer<typeof collectorOptionsSchema>;

/** @see collectorOptionsSchema */
export const collectorDefaults: CollectorOptions = {
  maxRepetitions: 25,
  maxOidsPerGet: 32,
  maxRowsPerColumn: 10_000,
  adaptiveRepetitions: true,
};

/** How the scheduler spreads and bounds polls. */
export const schedulerOptionsSchema = z.strictObject({
  /** Polls talking to devices at once (the active permits). @default 64 */
  maxConcurrentPolls: z.number().int().min(1).max(100_000),
  /**
   * Further polls that may wait on silent devices: a device whose last poll was unreachable
   * starts here, and a poll whose first request attempt got no byte back moves here, giving
   * its active permit back. Dead devices, each waiting out its retries until its deadline, so
   * never hold the permits live devices need. Total polls in flight stay below
   * maxConcurrentPolls + maxSilentPolls. @default maxConcurrentPolls
   */
  maxSilentPolls: z.number().int().min(1).max(100_000).optional(),
  /**
   * Each device polls at a fixed offset into its slot, derived from a hash of its id, in
   * [0, jitterFraction × interval). Spreads load without random drift. @default 0.5
   */
  jitterFraction: z.number().min(0).max(0.9),
});
export type SchedulerOptions = z.infer<typeof schedulerOptionsSchema>;

/** @see schedulerOptionsSchema */
export const schedulerDefaults: SchedulerOptions = {
  maxConcurrentPolls: 64,
  jitterFraction: 0.5,
};

/**
 * Merges `input` over `defaults` and validates.
 * @throws ConfigError naming each invalid option, its value and `source`.
 */
export function resolveOptions<T extends object>(
  schema: z.ZodType<T>,
  defaults: T,
  input: Partial<T> | undefined,
  source: string,
): T {
  const merged = { ...defaults, ...stripUndefined(input ?? {}) };
  const parsed = schema.safeParse(merged);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      return { path, message: issue.message, value: (merged as Record<string, unknown>)[path], source };
    }),
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
