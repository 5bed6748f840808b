import { describe, expect, it } from 'vitest';
import {
  ALL_TIME,
  buildTimeline,
  countSlots,
  type DevicePolls,
  deviceTimeline,
  type HourCount,
  interArrivalStats,
  type PollPoint,
  parseTime,
  resolveWindow,
  STRIP_BINS,
} from '../../../src/tools/timeline/index.ts';

const T10 = 1_704_103_200; // 2024-01-01T10:00:00Z
const window = { startS: T10, endS: T10 + 3600 };
const options = { window, tolerance: 0.5 };

/** A poll of slot `slotS`, observed `lateS` after the slot start. */
function poll(slotS: number, lateS = 2, state = 'ok', intervalS = 60): PollPoint {
  return {
    slotStartS: slotS,
    observedAtNs: BigInt(Math.round((slotS + lateS) * 1e9)),
    intervalS,
    pollState: state,
  };
}

/** Polls every 60 s in [fromS, toS), minus the slots in `skip`. */
function everyMinute(fromS: number, toS: number, skip: number[] = []): PollPoint[] {
  const out: PollPoint[] = [];
  for (let s = fromS; s < toS; s += 60) if (!skip.includes(s)) out.push(poll(s));
  return out;
}

/** ClickHouse's per-hour counts, computed from the same polls. */
function hourCounts(devices: DevicePolls[]): HourCount[] {
  const map = new Map<string, HourCount>();
  for (const d of devices) {
    for (const p of d.polls) {
      const hourStartS = Math.floor(p.slotStartS / 3600) * 3600;
      const k = `${d.deviceId}@${hourStartS}`;
      const c = map.get(k) ?? { deviceId: d.deviceId, hourStartS, polls: 0, ok: 0 };
      map.set(k, { ...c, polls: c.polls + 1, ok: c.ok + (p.pollState === 'ok' ? 1 : 0) });
    }
  }
  return [...map.values()];
}

describe('time windows', () => {
  it('reads ISO 8601 (no zone = UTC) and epoch seconds', () => {
    expect(parseTime('2024-01-01T10:00:00Z', '--since')).toBe(T10);
    expect(parseTime('2024-01-01T10:00:00', '--since')).toBe(T10);
    expect(parseTime('2024-01-01 10:00', '--since')).toBe(T10);
    expect(parseTime('2024-01-01T11:00:00+01:00', '--since')).toBe(T10);
    expect(parseTime(String(T10), '--since')).toBe(T10);
    expect(parseTime('2024-01-01', '--since')).toBe(T10 - 10 * 3600);
    expect(() => parseTime('yesterday', '--since')).toThrow(/--since "yesterday" is not a time/);
  });

  it('resolves --hours, --since/--until, defaults and refuses contradictions', () => {
    expect(resolveWindow({ hours: 2 }, T10)).toEqual({ startS: T10 - 7200, endS: T10 });
    expect(resolveWindow({}, T10, 24)).toEqual({ startS: T10 - 86_400, endS: T10 });
    expect(resolveWindow({ since: String(T10 - 60), until: String(T10) }, 0)).toEqual({
      startS: T10 - 60,
      endS: T10,
    });
    expect(resolveWindow({ hours: 1, until: String(T10) }, 0)).toEqual({ startS: T10 - 3600, endS: T10 });
    expect(resolveWindow({}, T10)).toEqual(ALL_TIME);
    expect(resolveWindow({ until: String(T10) }, 0)).toEqual({ startS: 0, endS: T10 });
    expect(() => resolveWindow({ hours: 1, since: '0' }, T10)).toThrow(/not both/);
    expect(() => resolveWindow({ hours: -1 }, T10)).toThrow(/positive/);
    expect(() => resolveWindow({ since: String(T10), until: String(T10) }, 0)).toThrow(/empty/);
  });
});

describe('timeline of one device', () => {
  it('counts slot starts in a half-open range', () => {
    expect(countSlots(0, 60, 60)).toBe(1);
    expect(countSlots(1, 60, 60)).toBe(0);
    expect(countSlots(T10, T10 + 3600 - 30, 60)).toBe(60);
    expect(countSlots(T10 + 1, T10 + 120, 60)).toBe(1);
    expect(countSlots(10, 5, 60)).toBe(0);
  });

  it('a regular device: every poll on time, full coverage, no gap', () => {
    const { timeline: t } = deviceTimeline(
      { deviceId: 'd1', polls: everyMinute(T10, T10 + 3600), previous: poll(T10 - 60) },
      options,
    );
    expect(t).toMatchObject({
      polls: 60,
      ok: 60,
      expected: 60,
      coverage: 1,
      judged: 60,
      onTime: 60,
      healthScore: 1,
      gaps: [],
      missedPolls: 0,
    });
    expect(t.interArrival).toMatchObject({ count: 60, minS: 60, p50S: 60, maxS: 60, stddevS: 0 });
    expect(t.strip.polls).toHaveLength(STRIP_BINS);
    expect(t.strip.polls.reduce((a, b) => a + b)).toBe(60);
    expect(t.strip.expected.reduce((a, b) => a + b)).toBe(60);
  });

  it('does not judge the first poll of a new device, and counts its due slots from that poll', () => {
    const { timeline: t } = deviceTimeline(
      { deviceId: 'new', polls: everyMinute(T10 + 1800, T10 + 3600) },
      options,
    );
    expect(t.polls).toBe(30);
    expect(t.judged).toBe(29);
    expect(t.healthScore).toBe(1);
    expect(t.expected).toBe(30);
    expect(t.coverage).toBe(1);
  });

  it('reports a gap with its missed polls, and lowers the health score', () => {
    const skip = [T10 + 600, T10 + 660, T10 + 720];
    const { timeline: t } = deviceTimeline(
      { deviceId: 'd1', polls: everyMinute(T10, T10 + 3600, skip), previous: poll(T10 - 60) },
      options,
    );
    expect(t.polls).toBe(57);
    expect(t.judged).toBe(57);
    expect(t.late).toBe(1);
    expect(t.onTime).toBe(56);
    expect(t.healthScore).toBeCloseTo(56 / 57);
    expect(t.coverage).toBeCloseTo(57 / 60);
    expect(t.gaps).toEqual([
      { deviceId: 'd1', fromS: T10 + 542, toS: T10 + 782, durationS: 240, missedPolls: 3, open: false },
    ]);
    expect(t.interArrival?.maxS).toBe(240);
  });

  it('a late poll is a gap without missed polls; the next one is early', () => {
    // Tolerance 0.5: on time is 30..90 s. Slot 10:05 observed 40 s late: 100 s, then 20 s.
    const polls = everyMinute(T10, T10 + 600).map((p) =>
      p.slotStartS === T10 + 300 ? poll(T10 + 300, 42) : p,
    );
    const { timeline: t } = deviceTimeline({ deviceId: 'd1', polls, previous: poll(T10 - 60) }, options);
    expect(t.late).toBe(1);
    expect(t.early).toBe(1);
    expect(t.gaps).toHaveLength(2); // the late one, and the open gap after 10:09 up to 11:00
    expect(t.gaps[0]).toMatchObject({ missedPolls: 0, open: false, durationS: 100 });
    // A tighter tolerance judges more strictly; a wider one forgives the late poll.
    const wide = deviceTimeline(
      { deviceId: 'd1', polls, previous: poll(T10 - 60) },
      { window, tolerance: 0.8 },
    );
    expect(wide.timeline.late).toBe(0);
    expect(wide.timeline.early).toBe(0);
  });

  it('a device that stops has an open gap up to the window end (in-flight grace: tolerance x interval)', () => {
    const polls = everyMinute(T10, T10 + 1860); // last slot 10:30
    const { timeline: t } = deviceTimeline({ deviceId: 'd1', polls, previous: poll(T10 - 60) }, options);
    // Due: slots before 10:59:30, i.e. 10:31 .. 10:59 missed.
    expect(t.gaps).toEqual([
      { deviceId: 'd1', fromS: T10 + 1802, toS: T10 + 3600, durationS: 1798, missedPolls: 29, open: true },
    ]);
    expect(t.expected).toBe(60);
    expect(t.coverage).toBeCloseTo(31 / 60);
    // The poll of the last slot is in flight until tolerance x interval after its start.
    const upTo = (endS: number) =>
      deviceTimeline(
        { deviceId: 'd1', polls: everyMinute(T10, T10 + 3540), previous: poll(T10 - 60) },
        { window: { startS: T10, endS }, tolerance: 0.5 },
      ).timeline;
    expect(upTo(T10 + 3540 + 30).gaps).toEqual([]);
    expect(upTo(T10 + 3540 + 30).expected).toBe(59);
    expect(upTo(T10 + 3540 + 31).gaps).toMatchObject([{ open: true, missedPolls: 1 }]);
    expect(upTo(T10 + 3540 + 31).expected).toBe(60);
  });

  it('a silent device (a poll before the window, none in it) has zero coverage and one open gap', () => {
    const { timeline: t } = deviceTimeline(
      { deviceId: 'gone', polls: [], previous: poll(T10 - 120) },
      options,
    );
    expect(t).toMatchObject({ polls: 0, expected: 60, coverage: 0, judged: 0, healthScore: null });
    expect(t.gaps).toHaveLength(1);
    expect(t.gaps[0]).toMatchObject({ open: true, missedPolls: 61, fromS: T10 - 118 });
    expect(t.lastSeenS).toBe(T10 - 118);
  });

  it('counts failed polls apart from ok ones', () => {
    const polls = everyMinute(T10, T10 + 600).map((p, i) =>
      i % 2 === 0 ? { ...p, pollState: 'unreachable' } : p,
    );
    const { timeline: t } = deviceTimeline({ deviceId: 'd1', polls, previous: poll(T10 - 60) }, options);
    expect([t.ok, t.failed]).toEqual([5, 5]);
  });

  it('inter-arrival statistics: nearest-rank percentiles, population stddev', () => {
    expect(interArrivalStats([])).toBeNull();
    const s = interArrivalStats([60, 60, 60, 60, 120, 58, 62, 60, 60, 60]);
    expect(s).toMatchObject({ count: 10, minS: 58, p50S: 60, p95S: 120, maxS: 120, meanS: 66 });
    expect(s?.stddevS).toBeCloseTo(Math.sqrt(((6 * 36 + 36 + 64 + 16 + 54 ** 2) as number) / 10));
  });
});

describe('timeline report', () => {
  // Two hours around midnight: d1 regular, d2 silent from 00:30.
  const midnight = 1_704_153_600; // 2024-01-02T00:00:00Z
  const w = { startS: midnight - 3600, endS: midnight + 3600 };
  const devices: DevicePolls[] = [
    { deviceId: 'd2', polls: everyMinute(midnight - 3600, midnight + 1800), previous: poll(midnight - 3660) },
    { deviceId: 'd1', polls: everyMinute(midnight - 3600, midnight + 3600), previous: poll(midnight - 3660) },
  ];
  const report = buildTimeline(devices, hourCounts(devices), { window: w, tolerance: 0.5 });

  it('orders devices and totals them', () => {
    expect(report.devices.map((d) => d.deviceId)).toEqual(['d1', 'd2']);
    expect(report.totals).toMatchObject({
      devices: 2,
      polls: 210,
      expected: 240,
      gaps: 1,
      openGaps: 1,
      missedPolls: 30,
    });
    expect(report.totals.coverage).toBeCloseTo(210 / 240);
    expect(report.gaps[0]?.deviceId).toBe('d2');
  });

  it('hourly distribution: polls and due slots per hour, over all devices', () => {
    expect(report.hourly.map((h) => [h.hourStartS - w.startS, h.devices, h.polls, h.expected])).toEqual([
      [0, 2, 120, 120],
      [3600, 2, 90, 120],
    ]);
  });

  it('daily summary splits at midnight UTC', () => {
    expect(report.daily.map((d) => [d.day, d.polls, d.expected, d.gaps, d.missedPolls])).toEqual([
      ['2024-01-01', 120, 120, 0, 0],
      ['2024-01-02', 90, 120, 1, 30],
    ]);
    expect(report.daily[0]?.healthScore).toBe(1);
  });

  it('heatmap: device x hour of day', () => {
    const d2 = report.heatmap.find((r) => r.deviceId === 'd2');
    expect(d2?.polls[23]).toBe(60);
    expect(d2?.polls[0]).toBe(30);
    expect(d2?.expected[0]).toBe(60);
    expect(d2?.polls.slice(1, 23).every((n) => n === 0)).toBe(true);
    expect(report.deviceHours.filter((c) => c.deviceId === 'd1')).toHaveLength(2);
  });

  it('an empty window has no rows', () => {
    const empty = buildTimeline([], [], { window: w, tolerance: 0.5 });
    expect(empty.hourly).toEqual([]);
    expect(empty.totals).toMatchObject({ devices: 0, polls: 0, coverage: null, healthScore: null });
  });
});
