/**
 * Collection timeline: when each device's polls arrived, how regular they were, where they are
 * missing. Pure: rows in (the polls of each device, and per-hour counts ClickHouse aggregated),
 * report out. docs/operations.md (## timeline) states the same definitions for operators.
 *
 * Definitions (window `[start, end)`, device interval `I`, tolerance `t` as a fraction of `I`):
 * - inter-arrival: the difference of the `observed_at` times of two consecutive polls of a device
 *   (ordered by slot). The first poll in the window is measured against the device's last poll
 *   before the window; a device with none (a new device) has no inter-arrival for its first poll,
 *   which is therefore not judged at all (neither on time nor late).
 * - on time: `|d - I| <= t * I`; the health score is on-time / judged inter-arrivals.
 * - gap: `d > I * (1 + t)`; its missed polls are the slot starts strictly between the two polls'
 *   slots (0 when the poll was only late). An open gap runs from the last poll to the window end
 *   when at least one slot after it is due and has no poll.
 * - due: a slot `k * I` is due when it starts at or after the window start (or the device's first
 *   poll, for a device with none before the window) and before `end - t * I`: the grace a poll in
 *   flight gets before it counts as missing. Coverage = polls / due slots, at most 1.
 */
import {
  type DailyRow,
  type DeviceHour,
  type DevicePolls,
  type DeviceTimeline,
  type Gap,
  type HeatmapRow,
  type HourCount,
  type HourlyRow,
  type InterArrivalStats,
  type PollPoint,
  STRIP_BINS,
  type TimelineOptions,
  type TimelineReport,
} from './types.ts';
import type { TimeWindow } from './window.ts';

const HOUR_S = 3600;
const NS_PER_S = 1_000_000_000;

/** Number of multiples of `intervalS` in `[fromS, toS)`. */
export function countSlots(fromS: number, toS: number, intervalS: number): number {
  if (!(toS > fromS) || !(intervalS > 0)) return 0;
  return Math.max(0, Math.ceil(toS / intervalS) - Math.ceil(fromS / intervalS));
}

/** `YYYY-MM-DD` (UTC) of a time in seconds. */
export function utcDay(s: number): string {
  return new Date(Math.floor(s) * 1000).toISOString().slice(0, 10);
}

/** `a / b`, or `null` when `b` is 0. */
function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index] as number;
}

/** Summary statistics of inter-arrival times, s; `null` for none. */
export function interArrivalStats(values: readonly number[]): InterArrivalStats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  const variance = sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / sorted.length;
  return {
    count: sorted.length,
    minS: sorted[0] as number,
    p50S: percentile(sorted, 0.5),
    p95S: percentile(sorted, 0.95),
    maxS: sorted[sorted.length - 1] as number,
    meanS: mean,
    stddevS: Math.sqrt(variance),
  };
}

const observedS = (p: PollPoint) => Number(p.observedAtNs) / NS_PER_S;

/** Per-day tallies of one device, merged into the daily summary. */
export interface DayTally {
  judged: number;
  onTime: number;
  gaps: number;
  missedPolls: number;
}

/** What one device contributes: its timeline, its due-slot span, its per-day tallies. */
export interface DeviceResult {
  timeline: DeviceTimeline;
  /** First time slots are due from (window start, or the first poll of a new device). */
  dueFromS: number;
  /** Slots due strictly before this time. */
  dueToS: number;
  days: Map<string, DayTally>;
}

function tally(days: Map<string, DayTally>, day: string): DayTally {
  let t = days.get(day);
  if (t === undefined) {
    t = { judged: 0, onTime: 0, gaps: 0, missedPolls: 0 };
    days.set(day, t);
  }
  return t;
}

/** The timeline of one device (see the module header for the definitions). */
export function deviceTimeline(device: DevicePolls, options: TimelineOptions): DeviceResult {
  const { window, tolerance } = options;
  const { polls, previous } = device;
  const last = polls[polls.length - 1] ?? previous;
  const intervalS = last?.intervalS ?? 0;
  const days = new Map<string, DayTally>();
  const interArrivals: number[] = [];
  const gaps: Gap[] = [];
  let onTime = 0;
  let early = 0;
  let late = 0;
  let ok = 0;

  let before = previous;
  for (const poll of polls) {
    if (poll.pollState === 'ok') ok++;
    if (before !== undefined) {
      const d = Number(poll.observedAtNs - before.observedAtNs) / NS_PER_S;
      const i = poll.intervalS;
      const day = tally(days, utcDay(observedS(poll)));
      interArrivals.push(d);
      day.judged++;
      if (d > i * (1 + tolerance)) {
        late++;
        const fromS = observedS(before);
        const missedPolls = countSlots(before.slotStartS + 1, poll.slotStartS, i);
        gaps.push({
          deviceId: device.deviceId,
          fromS,
          toS: observedS(poll),
          durationS: d,
          missedPolls,
          open: false,
        });
        const gapDay = tally(days, utcDay(Math.max(fromS, window.startS)));
        gapDay.gaps++;
        gapDay.missedPolls += missedPolls;
      } else if (d < i * (1 - tolerance)) {
        early++;
      } else {
        onTime++;
        day.onTime++;
      }
    }
    before = poll;
  }

  const dueToS = window.endS - tolerance * intervalS;
  if (last !== undefined) {
    const missedPolls = countSlots(last.slotStartS + 1, dueToS, intervalS);
    if (missedPolls > 0) {
      const fromS = observedS(last);
      gaps.push({
        deviceId: device.deviceId,
        fromS,
        toS: window.endS,
        durationS: window.endS - fromS,
        missedPolls,
        open: true,
      });
      const gapDay = tally(days, utcDay(Math.max(fromS, window.startS)));
      gapDay.gaps++;
      gapDay.missedPolls += missedPolls;
    }
  }

  const dueFromS = previous !== undefined ? window.startS : (polls[0]?.slotStartS ?? window.endS);
  const expected = countSlots(dueFromS, dueToS, intervalS);

  const binS = (window.endS - window.startS) / STRIP_BINS;
  const stripPolls = new Array<number>(STRIP_BINS).fill(0);
  const stripExpected = new Array<number>(STRIP_BINS).fill(0);
  for (const poll of polls) {
    const bin = Math.min(STRIP_BINS - 1, Math.max(0, Math.floor((poll.slotStartS - window.startS) / binS)));
    stripPolls[bin] = (stripPolls[bin] as number) + 1;
  }
  for (let bin = 0; bin < STRIP_BINS; bin++) {
    const from = window.startS + bin * binS;
    stripExpected[bin] = countSlots(Math.max(from, dueFromS), Math.min(from + binS, dueToS), intervalS);
  }
  const judged = interArrivals.length;
  return {
    timeline: {
      deviceId: device.deviceId,
      intervalS,
      polls: polls.length,
      ok,
      failed: polls.length - ok,
      expected,
      coverage: expected === 0 ? null : Math.min(polls.length, expected) / expected,
      judged,
      onTime,
      early,
      late,
      healthScore: ratio(onTime, judged),
      interArrival: interArrivalStats(interArrivals),
      gaps,
      missedPolls: gaps.reduce((s, g) => s + g.missedPolls, 0),
      lastSeenS: last === undefined ? null : observedS(last),
      strip: { polls: stripPolls, expected: stripExpected },
    },
    dueFromS,
    dueToS,
    days,
  };
}

/** Hour starts (UTC) covering the window. */
function hoursOf(window: TimeWindow, firstS: number): number[] {
  const hours: number[] = [];
  const from = Math.floor(Math.max(window.startS, firstS) / HOUR_S) * HOUR_S;
  for (let h = from; h < window.endS; h += HOUR_S) hours.push(h);
  return hours;
}

/**
 * The whole report: per-device timelines from the poll lists, hourly distribution, daily summary
 * and the hour-of-day heatmap from ClickHouse's per-hour counts plus the due slots per device.
 */
export function buildTimeline(
  devices: readonly DevicePolls[],
  hourCounts: readonly HourCount[],
  options: TimelineOptions,
): TimelineReport {
  const { window } = options;
  const results = [...devices]
    .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .map((d) => deviceTimeline(d, options));

  // Polls per (device, hour) as ClickHouse counted them.
  const counts = new Map<string, Map<number, HourCount>>();
  let firstHourS = Number.POSITIVE_INFINITY;
  for (const c of hourCounts) {
    if (c.hourStartS + HOUR_S <= window.startS || c.hourStartS >= window.endS) continue;
    let byHour = counts.get(c.deviceId);
    if (byHour === undefined) {
      byHour = new Map();
      counts.set(c.deviceId, byHour);
    }
    byHour.set(c.hourStartS, c);
    firstHourS = Math.min(firstHourS, c.hourStartS);
  }
  for (const r of results) {
    if (r.timeline.expected > 0) firstHourS = Math.min(firstHourS, r.dueFromS);
  }
  const hours = Number.isFinite(firstHourS) ? hoursOf(window, firstHourS) : [];

  interface Cell {
    devices: Set<string>;
    polls: number;
    ok: number;
    expected: number;
    covered: number;
  }
  const hourly = new Map<number, Cell>(
    hours.map((h) => [h, { devices: new Set(), polls: 0, ok: 0, expected: 0, covered: 0 }]),
  );
  const heatmap: HeatmapRow[] = [];
  const deviceHours: DeviceHour[] = [];
  for (const r of results) {
    const id = r.timeline.deviceId;
    const byHour = counts.get(id);
    const polls = new Array<number>(24).fill(0);
    const expected = new Array<number>(24).fill(0);
    for (const h of hours) {
      const c = byHour?.get(h);
      const due = countSlots(Math.max(h, r.dueFromS), Math.min(h + HOUR_S, r.dueToS), r.timeline.intervalS);
      const cell = hourly.get(h) as Cell;
      const n = c?.polls ?? 0;
      if (n > 0) cell.devices.add(id);
      cell.polls += n;
      cell.ok += c?.ok ?? 0;
      cell.expected += due;
      cell.covered += Math.min(n, due);
      if (n > 0 || due > 0)
        deviceHours.push({ deviceId: id, hourStartS: h, polls: n, ok: c?.ok ?? 0, expected: due });
      const hourOfDay = (h / HOUR_S) % 24;
      polls[hourOfDay] = (polls[hourOfDay] as number) + n;
      expected[hourOfDay] = (expected[hourOfDay] as number) + due;
    }
    heatmap.push({ deviceId: id, polls, expected });
  }

  const hourlyRows: HourlyRow[] = hours.map((h) => {
    const c = hourly.get(h) as Cell;
    return {
      hourStartS: h,
      devices: c.devices.size,
      polls: c.polls,
      ok: c.ok,
      expected: c.expected,
      coverage: ratio(c.covered, c.expected),
    };
  });

  const daily = new Map<
    string,
    { devices: Set<string>; polls: number; ok: number; expected: number; covered: number } & DayTally
  >();
  const day = (d: string) => {
    let row = daily.get(d);
    if (row === undefined) {
      row = {
        devices: new Set(),
        polls: 0,
        ok: 0,
        expected: 0,
        covered: 0,
        judged: 0,
        onTime: 0,
        gaps: 0,
        missedPolls: 0,
      };
      daily.set(d, row);
    }
    return row;
  };
  for (const h of hours) {
    const c = hourly.get(h) as Cell;
    const row = day(utcDay(h));
    for (const id of c.devices) row.devices.add(id);
    row.polls += c.polls;
    row.ok += c.ok;
    row.expected += c.expected;
    row.covered += c.covered;
  }
  for (const r of results) {
    for (const [d, t] of r.days) {
      const row = day(d);
      row.judged += t.judged;
      row.onTime += t.onTime;
      row.gaps += t.gaps;
      row.missedPolls += t.missedPolls;
    }
  }
  const dailyRows: DailyRow[] = [...daily.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([d, row]) => ({
      day: d,
      devices: row.devices.size,
      polls: row.polls,
      ok: row.ok,
      failed: row.polls - row.ok,
      expected: row.expected,
      coverage: ratio(row.covered, row.expected),
      judged: row.judged,
      onTime: row.onTime,
      healthScore: ratio(row.onTime, row.judged),
      gaps: row.gaps,
      missedPolls: row.missedPolls,
    }));

  const timelines = results.map((r) => r.timeline);
  const gaps = timelines
    .flatMap((t) => t.gaps)
    .sort((a, b) => a.fromS - b.fromS || (a.deviceId < b.deviceId ? -1 : 1));
  const sum = (f: (t: DeviceTimeline) => number) => timelines.reduce((s, t) => s + f(t), 0);
  const expected = sum((t) => t.expected);
  const judged = sum((t) => t.judged);
  const onTime = sum((t) => t.onTime);
  return {
    window,
    tolerance: options.tolerance,
    devices: timelines,
    hourly: hourlyRows,
    daily: dailyRows,
    heatmap,
    deviceHours,
    gaps,
    totals: {
      devices: timelines.length,
      polls: sum((t) => t.polls),
      ok: sum((t) => t.ok),
      expected,
      coverage: ratio(
        sum((t) => Math.min(t.polls, t.expected)),
        expected,
      ),
      judged,
      onTime,
      healthScore: ratio(onTime, judged),
      gaps: gaps.length,
      openGaps: gaps.filter((g) => g.open).length,
      missedPolls: sum((t) => t.missedPolls),
    },
  };
}
