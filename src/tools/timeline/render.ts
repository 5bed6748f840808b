/**
 * Renderings of a timeline report: terminal text (tables, shaded heatmap and strips), CSV and a
 * hand-written SVG (no charting dependency: a heatmap and one strip per device are a few hundred
 * rectangles). Pure: strings out; the command writes them.
 */
import { formatTable } from '../../cli/output.ts';
import { STRIP_BINS, type TimelineReport } from './types.ts';
import { describeWindow, isoSeconds } from './window.ts';

/** A share as a percentage with one decimal, `-` for none. */
export function percent(share: number | null): string {
  return share === null ? '-' : `${(share * 100).toFixed(1)}%`;
}

/** A duration for people: `45.2s`, `12m03s`, `3h05m`, `2d04h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? '-' : '';
  if (s < 60) return `${sign}${s.toFixed(s < 10 ? 2 : 1)}s`;
  const two = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3600)}h${two((s % 3600) / 60)}m`;
  return `${sign}${Math.floor(s / 86_400)}d${two((s % 86_400) / 3600)}h`;
}

/**
 * The shading character of a cell: polls / due slots. Blank when nothing was due and nothing came;
 * `·` when slots were due and none came; `+` when polls came although none was due.
 */
export function shade(polls: number, expected: number): string {
  if (expected === 0) return polls > 0 ? '+' : ' ';
  const c = polls / expected;
  if (c >= 0.95) return '█';
  if (c >= 0.75) return '▓';
  if (c >= 0.5) return '▒';
  if (c > 0) return '░';
  return '·';
}

const LEGEND =
  'shading: polls / due slots  █ >=95%  ▓ >=75%  ▒ >=50%  ░ >0%  · none  + unexpected  (blank: none due)';

/**
 * A device's strip for shading: when a bin is shorter than the device's interval, most bins
 * have no slot start and the strip would alternate between "none due" and "all there"; each bin
 * then carries the sums of its group of `ceil(interval / bin)` bins, so a cell is shaded by the
 * coverage of at least one interval.
 */
export function shadingStrip(
  strip: TimelineReport['devices'][number]['strip'],
  intervalS: number,
  binS: number,
): { polls: number[]; expected: number[] } {
  const group = Math.max(1, Math.ceil(intervalS / binS));
  const polls = [...strip.polls];
  const expected = [...strip.expected];
  if (group === 1) return { polls, expected };
  for (let start = 0; start < polls.length; start += group) {
    const end = Math.min(polls.length, start + group);
    const p = strip.polls.slice(start, end).reduce((a, b) => a + b, 0);
    const e = strip.expected.slice(start, end).reduce((a, b) => a + b, 0);
    polls.fill(p, start, end);
    expected.fill(e, start, end);
  }
  return { polls, expected };
}

/** Downsamples a strip to `width` characters (sums of neighbouring bins). */
function stripText(polls: readonly number[], expected: readonly number[], width: number): string {
  const per = polls.length / width;
  let out = '';
  for (let i = 0; i < width; i++) {
    let p = 0;
    let e = 0;
    for (let b = Math.floor(i * per); b < Math.floor((i + 1) * per); b++) {
      p += polls[b] ?? 0;
      e += expected[b] ?? 0;
    }
    out += shade(p, e);
  }
  return out;
}

/** How many gaps the terminal lists before saying how many more there are. */
const MAX_GAPS_SHOWN = 50;

/** The report for a terminal. */
export function renderTimelineText(report: TimelineReport): string {
  const t = report.totals;
  const out: string[] = [];
  out.push(
    `Collection timeline ${describeWindow(report.window)} (UTC), on time = interval ±${Math.round(report.tolerance * 100)}%`,
    `devices ${t.devices}  polls ${t.polls} of ${t.expected} due (coverage ${percent(t.coverage)})  ` +
      `ok ${t.ok}  health ${percent(t.healthScore)} (${t.onTime}/${t.judged} inter-arrivals on time)  ` +
      `gaps ${t.gaps} (${t.openGaps} open)  missed polls ${t.missedPolls}`,
    '',
  );
  if (report.devices.length === 0) {
    out.push('no polls stored in this window');
    return `${out.join('\n')}\n`;
  }

  out.push(
    formatTable(
      [
        'DEVICE',
        'INTERVAL',
        'POLLS',
        'OK',
        'DUE',
        'COVERAGE',
        'HEALTH',
        'IA P50',
        'IA P95',
        'IA MAX',
        'GAPS',
        'MISSED',
        'LAST SEEN',
      ],
      report.devices.map((d) => [
        d.deviceId,
        `${d.intervalS}s`,
        String(d.polls),
        String(d.ok),
        String(d.expected),
        percent(d.coverage),
        percent(d.healthScore),
        d.interArrival ? formatDuration(d.interArrival.p50S) : '-',
        d.interArrival ? formatDuration(d.interArrival.p95S) : '-',
        d.interArrival ? formatDuration(d.interArrival.maxS) : '-',
        String(d.gaps.length),
        String(d.missedPolls),
        d.lastSeenS === null ? '-' : isoSeconds(d.lastSeenS),
      ]),
    ),
    '',
  );

  const width = 60;
  const idWidth = Math.max(6, ...report.devices.map((d) => d.deviceId.length));
  out.push(
    `Timeline (${width} columns of ${formatDuration((report.window.endS - report.window.startS) / width)})`,
    `${''.padEnd(idWidth)}  ${isoSeconds(report.window.startS).padEnd(width - 20)}${isoSeconds(report.window.endS).padStart(20)}`,
    ...report.devices.map((d) => {
      const strip = shadingStrip(
        d.strip,
        d.intervalS,
        (report.window.endS - report.window.startS) / STRIP_BINS,
      );
      return `${d.deviceId.padEnd(idWidth)}  ${stripText(strip.polls, strip.expected, width)}`;
    }),
    '',
    'Heatmap: hour of day (UTC), summed over the window',
    `${''.padEnd(idWidth)}  ${Array.from({ length: 24 }, (_, h) => String(Math.floor(h / 10))).join('')}`,
    `${''.padEnd(idWidth)}  ${Array.from({ length: 24 }, (_, h) => String(h % 10)).join('')}`,
    ...report.heatmap.map(
      (row) =>
        `${row.deviceId.padEnd(idWidth)}  ${row.polls.map((p, h) => shade(p, row.expected[h] ?? 0)).join('')}`,
    ),
    LEGEND,
    '',
  );

  const maxPolls = Math.max(1, ...report.hourly.map((h) => h.polls));
  out.push(
    'Hourly distribution (UTC)',
    formatTable(
      ['HOUR', 'DEVICES', 'POLLS', 'OK', 'DUE', 'COVERAGE', ''],
      report.hourly.map((h) => [
        isoSeconds(h.hourStartS).slice(0, 16),
        String(h.devices),
        String(h.polls),
        String(h.ok),
        String(h.expected),
        percent(h.coverage),
        '■'.repeat(Math.round((h.polls / maxPolls) * 30)),
      ]),
    ),
    '',
    'Daily summary (UTC)',
    formatTable(
      ['DAY', 'DEVICES', 'POLLS', 'OK', 'FAILED', 'DUE', 'COVERAGE', 'HEALTH', 'GAPS', 'MISSED'],
      report.daily.map((d) => [
        d.day,
        String(d.devices),
        String(d.polls),
        String(d.ok),
        String(d.failed),
        String(d.expected),
        percent(d.coverage),
        percent(d.healthScore),
        String(d.gaps),
        String(d.missedPolls),
      ]),
    ),
    '',
  );

  if (report.gaps.length === 0) {
    out.push('Gaps: none');
  } else {
    out.push(
      `Gaps (${report.gaps.length}${report.gaps.length > MAX_GAPS_SHOWN ? `, first ${MAX_GAPS_SHOWN}` : ''}; open = no poll since, up to the window end)`,
      formatTable(
        ['DEVICE', 'FROM', 'TO', 'DURATION', 'MISSED'],
        report.gaps
          .slice(0, MAX_GAPS_SHOWN)
          .map((g) => [
            g.deviceId,
            isoSeconds(g.fromS),
            g.open ? 'open' : isoSeconds(g.toS),
            formatDuration(g.durationS),
            String(g.missedPolls),
          ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csv(
  header: readonly string[],
  rows: readonly (readonly (string | number | boolean | null)[])[],
): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

const round = (n: number | null, digits = 4) => (n === null ? null : Number(n.toFixed(digits)));

/**
 * The report as CSV tables: `hours` (device × hour: polls, ok, due, coverage), `devices` (one row
 * per device) and `gaps`. Times are ISO 8601 UTC, durations seconds, shares 0-1.
 */
export function timelineCsv(report: TimelineReport): { hours: string; devices: string; gaps: string } {
  return {
    hours: csv(
      ['device_id', 'hour_start', 'polls', 'ok', 'due', 'coverage'],
      report.deviceHours.map((c) => [
        c.deviceId,
        isoSeconds(c.hourStartS),
        c.polls,
        c.ok,
        c.expected,
        round(c.expected === 0 ? null : Math.min(c.polls, c.expected) / c.expected),
      ]),
    ),
    devices: csv(
      [
        'device_id',
        'interval_s',
        'polls',
        'ok',
        'failed',
        'due',
        'coverage',
        'judged',
        'on_time',
        'early',
        'late',
        'health_score',
        'ia_min_s',
        'ia_p50_s',
        'ia_p95_s',
        'ia_max_s',
        'ia_mean_s',
        'ia_stddev_s',
        'gaps',
        'missed_polls',
        'last_seen',
      ],
      report.devices.map((d) => [
        d.deviceId,
        d.intervalS,
        d.polls,
        d.ok,
        d.failed,
        d.expected,
        round(d.coverage),
        d.judged,
        d.onTime,
        d.early,
        d.late,
        round(d.healthScore),
        round(d.interArrival?.minS ?? null, 3),
        round(d.interArrival?.p50S ?? null, 3),
        round(d.interArrival?.p95S ?? null, 3),
        round(d.interArrival?.maxS ?? null, 3),
        round(d.interArrival?.meanS ?? null, 3),
        round(d.interArrival?.stddevS ?? null, 3),
        d.gaps.length,
        d.missedPolls,
        d.lastSeenS === null ? null : isoSeconds(d.lastSeenS),
      ]),
    ),
    gaps: csv(
      ['device_id', 'from', 'to', 'duration_s', 'missed_polls', 'open'],
      report.gaps.map((g) => [
        g.deviceId,
        isoSeconds(g.fromS),
        isoSeconds(g.toS),
        round(g.durationS, 3),
        g.missedPolls,
        g.open,
      ]),
    ),
  };
}

/** Escapes text for SVG content and attribute values. */
export function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Fill colour of a cell by polls / due slots (same thresholds as {@link shade}). */
export function cellColour(polls: number, expected: number): string {
  if (expected === 0) return polls > 0 ? '#4575b4' : '#f0f0f0';
  const c = polls / expected;
  if (c >= 0.95) return '#1a9850';
  if (c >= 0.75) return '#91cf60';
  if (c >= 0.5) return '#fee08b';
  if (c > 0) return '#fc8d59';
  return '#d73027';
}

/**
 * The report as an SVG image: the hour-of-day heatmap (device × 24 hours) and, below, one strip
 * per device over the window ({@link STRIP_BINS} bins) with its gaps drawn as red bars. Each cell
 * has a `<title>` tooltip with its numbers.
 */
export function timelineSvg(report: TimelineReport): string {
  const font = 'font-family="monospace" font-size="12"';
  const rowH = 16;
  // Monospace 12 px is about 7.2 px per character; very long ids run under the cells.
  const idWidth = Math.min(300, 20 + 7.5 * Math.max(6, ...report.devices.map((d) => d.deviceId.length)));
  const cellW = 20;
  const binW = 3;
  const stripW = STRIP_BINS * binW;
  const width = Math.ceil(idWidth + Math.max(24 * cellW, stripW) + 20);
  const parts: string[] = [];
  let y = 24;
  const text = (x: number, ty: number, s: string, extra = '') =>
    parts.push(`<text x="${x}" y="${ty}" ${font}${extra}>${xmlEscape(s)}</text>`);

  text(10, y, `AMOSKYS collection timeline ${describeWindow(report.window)} (UTC)`, ' font-weight="bold"');
  y += 18;
  const t = report.totals;
  text(
    10,
    y,
    `${t.devices} devices, ${t.polls} of ${t.expected} due polls (coverage ${percent(t.coverage)}), health ${percent(t.healthScore)}, ${t.gaps} gaps, ${t.missedPolls} missed polls`,
  );
  y += 30;

  text(10, y, 'Heatmap: polls / due slots per hour of day (UTC)', ' font-weight="bold"');
  y += 16;
  for (let h = 0; h < 24; h += 3) text(idWidth + h * cellW + 2, y, String(h).padStart(2, '0'));
  y += 6;
  for (const row of report.heatmap) {
    text(10, y + 12, row.deviceId);
    row.polls.forEach((p, h) => {
      const e = row.expected[h] ?? 0;
      parts.push(
        `<rect x="${idWidth + h * cellW}" y="${y}" width="${cellW - 1}" height="${rowH - 1}" fill="${cellColour(p, e)}"><title>${xmlEscape(
          `${row.deviceId} ${String(h).padStart(2, '0')}:00 UTC: ${p} polls, ${e} due`,
        )}</title></rect>`,
      );
    });
    y += rowH;
  }
  y += 30;

  text(10, y, 'Timeline: polls / due slots per bin; red bars are gaps', ' font-weight="bold"');
  y += 16;
  const { startS, endS } = report.window;
  const binS = (endS - startS) / STRIP_BINS;
  text(idWidth, y, isoSeconds(startS));
  text(idWidth + stripW, y, isoSeconds(endS), ' text-anchor="end"');
  y += 6;
  for (const d of report.devices) {
    text(10, y + 12, d.deviceId);
    // Runs of equal colour become one rectangle: a steady device is a single bar.
    const strip = shadingStrip(d.strip, d.intervalS, binS);
    let runStart = 0;
    for (let b = 1; b <= STRIP_BINS; b++) {
      const colour = (i: number) => cellColour(strip.polls[i] ?? 0, strip.expected[i] ?? 0);
      if (b < STRIP_BINS && colour(b) === colour(runStart)) continue;
      const polls = d.strip.polls.slice(runStart, b).reduce((s, v) => s + v, 0);
      const due = d.strip.expected.slice(runStart, b).reduce((s, v) => s + v, 0);
      parts.push(
        `<rect x="${idWidth + runStart * binW}" y="${y}" width="${(b - runStart) * binW}" height="${rowH - 5}" fill="${colour(runStart)}"><title>${xmlEscape(
          `${d.deviceId} ${isoSeconds(startS + runStart * binS)} .. ${isoSeconds(startS + b * binS)}: ${polls} polls, ${due} due`,
        )}</title></rect>`,
      );
      runStart = b;
    }
    for (const g of d.gaps) {
      const x0 = idWidth + (Math.max(g.fromS, startS) - startS) * (stripW / (endS - startS));
      const x1 = idWidth + (Math.min(g.toS, endS) - startS) * (stripW / (endS - startS));
      parts.push(
        `<rect x="${x0.toFixed(1)}" y="${y + rowH - 4}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="3" fill="#b2182b"><title>${xmlEscape(
          `gap ${isoSeconds(g.fromS)} .. ${g.open ? 'open' : isoSeconds(g.toS)}, ${g.missedPolls} missed polls`,
        )}</title></rect>`,
      );
    }
    y += rowH + 2;
  }
  y += 20;

  const legend: [string, string][] = [
    ['#1a9850', '>=95%'],
    ['#91cf60', '>=75%'],
    ['#fee08b', '>=50%'],
    ['#fc8d59', '>0%'],
    ['#d73027', 'none'],
    ['#4575b4', 'unexpected'],
    ['#f0f0f0', 'none due'],
  ];
  legend.forEach(([fill, label], i) => {
    const x = 10 + i * 110;
    parts.push(`<rect x="${x}" y="${y - 11}" width="12" height="12" fill="${fill}"/>`);
    text(x + 16, y, label);
  });
  y += 14;

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}
