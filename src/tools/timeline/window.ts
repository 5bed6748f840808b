/**
 * Time windows of the reporting tools: `--since/--until` or `--hours N`, UTC, whole seconds,
 * half-open `[startS, endS)`. Pure; the commands turn a RangeError into a usage error (exit 2).
 */

/** A half-open time range `[startS, endS)`, seconds since the epoch (UTC). */
export interface TimeWindow {
  readonly startS: number;
  readonly endS: number;
}

/** The largest ClickHouse `DateTime` (2106-02-07), s: the end of an unbounded window. */
export const MAX_DATETIME_S = 4_294_967_295;

/** Every time a `DateTime` can hold: the window of a command run without --since/--until/--hours. */
export const ALL_TIME: TimeWindow = { startS: 0, endS: MAX_DATETIME_S };

/** Window options as typed on the command line. */
export interface WindowOptions {
  /** ISO 8601 time (`2024-01-01T10:00:00Z`; no zone means UTC) or epoch seconds. */
  since?: string | undefined;
  /** ISO 8601 time or epoch seconds; exclusive. @default now */
  until?: string | undefined;
  /** The last N hours before --until (or now); not with --since. */
  hours?: number | undefined;
}

/**
 * Parses an ISO 8601 time or epoch seconds into epoch seconds (floored).
 * A date-time without a zone is read as UTC, so a window means the same on every machine.
 * @throws RangeError naming the option and the value.
 */
export function parseTime(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.floor(Number(trimmed));
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(trimmed);
  const ms = Date.parse(hasZone || dateOnly ? trimmed : `${trimmed}Z`);
  if (Number.isNaN(ms)) {
    throw new RangeError(
      `${option} ${JSON.stringify(text)} is not a time: use ISO 8601 (2024-01-01T10:00:00Z) or epoch seconds`,
    );
  }
  return Math.floor(ms / 1000);
}

/**
 * The window the options describe. `--hours` counts back from `--until` (or now); with neither
 * `--since` nor `--hours`, `defaultHours` applies, and with no default the window is {@link ALL_TIME}
 * ending at `--until` when given.
 * @param nowS current time, s (injected so tests are deterministic)
 * @throws RangeError for contradictory or invalid options.
 */
export function resolveWindow(options: WindowOptions, nowS: number, defaultHours?: number): TimeWindow {
  if (options.hours !== undefined && options.since !== undefined) {
    throw new RangeError('give --since or --hours, not both');
  }
  if (options.hours !== undefined && !(Number.isFinite(options.hours) && options.hours > 0)) {
    throw new RangeError(`--hours must be a positive number, got ${options.hours}`);
  }
  const untilGiven = options.until !== undefined;
  const endS = untilGiven ? parseTime(options.until as string, '--until') : nowS;
  let startS: number;
  if (options.since !== undefined) startS = parseTime(options.since, '--since');
  else if (options.hours !== undefined) startS = endS - Math.round(options.hours * 3600);
  else if (defaultHours !== undefined) startS = endS - Math.round(defaultHours * 3600);
  else return { startS: ALL_TIME.startS, endS: untilGiven ? endS : ALL_TIME.endS };
  if (startS >= endS) {
    throw new RangeError(
      `the window is empty: --since ${isoSeconds(startS)} is not before ${isoSeconds(endS)}`,
    );
  }
  return { startS: Math.max(0, startS), endS: Math.min(MAX_DATETIME_S, endS) };
}

/** Epoch seconds as ISO 8601 without milliseconds, e.g. `2024-01-01T10:00:00Z`. */
export function isoSeconds(s: number): string {
  return new Date(Math.floor(s) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A window for people: `2024-01-01T10:00:00Z .. 2024-01-02T10:00:00Z`, or `all time`. */
export function describeWindow(window: TimeWindow): string {
  if (window.startS === ALL_TIME.startS && window.endS === ALL_TIME.endS) return 'all time';
  const start = window.startS === ALL_TIME.startS ? 'the beginning' : isoSeconds(window.startS);
  const end = window.endS === ALL_TIME.endS ? 'the end' : isoSeconds(window.endS);
  return `${start} .. ${end}`;
}
