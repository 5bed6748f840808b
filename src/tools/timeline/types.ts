/** Input and output shapes of the timeline computation (see timeline.ts for the definitions). */
import type { TimeWindow } from './window.ts';

/** One stored poll of a device: the columns of `features` the timeline needs. */
export interface PollPoint {
  /** Start of the poll slot (`slot_start`), s since the epoch. A multiple of `intervalS`. */
  readonly slotStartS: number;
  /** When the values were read (`observed_at_ns`), ns since the epoch. */
  readonly observedAtNs: bigint;
  /** Poll interval of the device at this poll (`interval_s`), s. */
  readonly intervalS: number;
  /** `poll_state`: `ok`, `partial`, `unreachable`, ... */
  readonly pollState: string;
}

/** The polls of one device: those in the window, and its last poll before the window. */
export interface DevicePolls {
  readonly deviceId: string;
  /** Polls with `slotStartS` in the window, sorted by `slotStartS`. */
  readonly polls: readonly PollPoint[];
  /** The device's latest poll before the window (within the look-back), if any. */
  readonly previous?: PollPoint | undefined;
}

/** Polls of one device in one hour, counted by ClickHouse. */
export interface HourCount {
  readonly deviceId: string;
  /** Start of the hour (UTC), s since the epoch. */
  readonly hourStartS: number;
  readonly polls: number;
  /** Polls whose `poll_state` is `ok`. */
  readonly ok: number;
}

/** Settings of the computation. */
export interface TimelineOptions {
  readonly window: TimeWindow;
  /**
   * Allowed deviation of an inter-arrival from the interval, as a fraction of the interval: an
   * inter-arrival `d` is on time when `|d - interval| <= tolerance * interval`. @default 0.5
   */
  readonly tolerance: number;
}

/** Summary statistics of a device's inter-arrival times, s. */
export interface InterArrivalStats {
  readonly count: number;
  readonly minS: number;
  readonly p50S: number;
  readonly p95S: number;
  readonly maxS: number;
  readonly meanS: number;
  /** Population standard deviation. */
  readonly stddevS: number;
}

/** A stretch longer than `interval * (1 + tolerance)` without a poll. */
export interface Gap {
  readonly deviceId: string;
  /** Observation time of the poll before the gap, s (may lie before the window). */
  readonly fromS: number;
  /** Observation time of the poll that ended the gap, s; the window end for an open gap. */
  readonly toS: number;
  readonly durationS: number;
  /** Poll slots between the two polls that have no stored poll (0 when a poll was only late). */
  readonly missedPolls: number;
  /** No poll ended the gap before the window end: the device is silent. */
  readonly open: boolean;
}

/** Timeline of one device. */
export interface DeviceTimeline {
  readonly deviceId: string;
  /** Interval of the device's latest poll, s. */
  readonly intervalS: number;
  /** Polls stored with a slot in the window. */
  readonly polls: number;
  readonly ok: number;
  /** Polls whose state is not `ok`. */
  readonly failed: number;
  /**
   * Poll slots that were due in the window: slot starts `k * interval` from the window start (or
   * the device's first poll, when it has none before the window) up to `end - tolerance * interval`.
   */
  readonly expected: number;
  /** `polls / expected`, at most 1; `null` when nothing was due. */
  readonly coverage: number | null;
  /** Inter-arrivals judged: one per poll in the window that has a predecessor (in or before it). */
  readonly judged: number;
  /** Judged inter-arrivals within `interval ± tolerance * interval`. */
  readonly onTime: number;
  /** Judged inter-arrivals shorter than `interval * (1 - tolerance)`. */
  readonly early: number;
  /** Judged inter-arrivals longer than `interval * (1 + tolerance)` (each is a gap). */
  readonly late: number;
  /** `onTime / judged`; `null` without a judged inter-arrival. */
  readonly healthScore: number | null;
  readonly interArrival: InterArrivalStats | null;
  readonly gaps: readonly Gap[];
  /** Missed polls over all gaps, open ones included. */
  readonly missedPolls: number;
  /** Latest observation, s; `null` when the device has no poll in or before the window. */
  readonly lastSeenS: number | null;
  /** The window cut into {@link STRIP_BINS} equal bins: polls (by slot start) and due slots per bin. */
  readonly strip: { readonly polls: readonly number[]; readonly expected: readonly number[] };
}

/** Bins of a device's timeline strip. */
export const STRIP_BINS = 240;

/** Polls of one device in one hour (UTC) with the slots due in it. */
export interface DeviceHour {
  readonly deviceId: string;
  readonly hourStartS: number;
  readonly polls: number;
  readonly ok: number;
  readonly expected: number;
}

/** Polls of all devices in one hour. */
export interface HourlyRow {
  readonly hourStartS: number;
  readonly devices: number;
  readonly polls: number;
  readonly ok: number;
  /** Poll slots due in this hour, summed over devices (partial hours at the window edges prorated by slot). */
  readonly expected: number;
  readonly coverage: number | null;
}

/** One UTC day. */
export interface DailyRow {
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string;
  readonly devices: number;
  readonly polls: number;
  readonly ok: number;
  readonly failed: number;
  readonly expected: number;
  readonly coverage: number | null;
  /** Inter-arrivals judged whose later poll was observed this day. */
  readonly judged: number;
  readonly onTime: number;
  readonly healthScore: number | null;
  /** Gaps that started this day. */
  readonly gaps: number;
  readonly missedPolls: number;
}

/** Device × hour of day (UTC), summed over the days of the window. */
export interface HeatmapRow {
  readonly deviceId: string;
  /** Polls per hour of day, index 0-23. */
  readonly polls: readonly number[];
  /** Poll slots due per hour of day, index 0-23. */
  readonly expected: readonly number[];
}

/** Everything `amoskys timeline` reports. */
export interface TimelineReport {
  readonly window: TimeWindow;
  readonly tolerance: number;
  readonly devices: readonly DeviceTimeline[];
  readonly hourly: readonly HourlyRow[];
  readonly daily: readonly DailyRow[];
  readonly heatmap: readonly HeatmapRow[];
  /** Device × hour cells with a poll or a due slot, by device then hour. */
  readonly deviceHours: readonly DeviceHour[];
  readonly gaps: readonly Gap[];
  readonly totals: {
    readonly devices: number;
    readonly polls: number;
    readonly ok: number;
    readonly expected: number;
    readonly coverage: number | null;
    readonly judged: number;
    readonly onTime: number;
    readonly healthScore: number | null;
    readonly gaps: number;
    readonly openGaps: number;
    readonly missedPolls: number;
  };
}
