import { describe, expect, it } from 'vitest';
import {
  buildTimeline,
  csvField,
  type DevicePolls,
  formatDuration,
  type HourCount,
  type PollPoint,
  renderTimelineText,
  shade,
  shadingStrip,
  timelineCsv,
  timelineSvg,
  xmlEscape,
} from '../../../src/tools/timeline/index.ts';

const T10 = 1_704_103_200; // 2024-01-01T10:00:00Z
const window = { startS: T10, endS: T10 + 3600 };

const poll = (slotS: number): PollPoint => ({
  slotStartS: slotS,
  observedAtNs: BigInt(slotS + 1) * 1_000_000_000n,
  intervalS: 60,
  pollState: 'ok',
});
const minutes = (from: number, to: number) =>
  Array.from({ length: (to - from) / 60 }, (_, i) => poll(from + i * 60));

const devices: DevicePolls[] = [
  { deviceId: 'steady', polls: minutes(T10, T10 + 3600), previous: poll(T10 - 60) },
  // An id that needs escaping in XML and quoting in CSV.
  { deviceId: 'odd <&> "id", x', polls: minutes(T10, T10 + 1200), previous: poll(T10 - 60) },
];
const hourCounts: HourCount[] = [
  { deviceId: 'steady', hourStartS: T10, polls: 60, ok: 60 },
  { deviceId: 'odd <&> "id", x', hourStartS: T10, polls: 20, ok: 20 },
];
const report = buildTimeline(devices, hourCounts, { window, tolerance: 0.5 });

/** Checks that every tag is closed in order: enough to catch broken hand-written XML. */
function balanced(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name as string);
  }
  return stack.length === 0;
}

describe('timeline rendering', () => {
  it('shades cells by polls / due slots', () => {
    expect([shade(60, 60), shade(50, 60), shade(40, 60), shade(1, 60), shade(0, 60)]).toEqual([
      '█',
      '▓',
      '▒',
      '░',
      '·',
    ]);
    expect([shade(0, 0), shade(3, 0)]).toEqual([' ', '+']);
  });

  it('shades a strip by at least one interval when bins are shorter than it', () => {
    // 0.75 s bins, 1 s interval: slot starts fall in 3 bins of 4.
    const strip = { polls: [1, 1, 1, 0, 1, 1, 1, 0], expected: [1, 1, 1, 0, 1, 1, 1, 0] };
    expect(shadingStrip(strip, 1, 0.75)).toEqual({
      polls: [2, 2, 1, 1, 2, 2, 1, 1],
      expected: [2, 2, 1, 1, 2, 2, 1, 1],
    });
    expect(shadingStrip(strip, 1, 2)).toEqual(strip);
  });

  it('formats durations for people', () => {
    expect([
      formatDuration(1.234),
      formatDuration(59.96),
      formatDuration(723),
      formatDuration(11_100),
    ]).toEqual(['1.23s', '60.0s', '12m03s', '3h05m']);
    expect(formatDuration(2 * 86_400 + 4 * 3600)).toBe('2d04h');
  });

  it('terminal text: totals, device table, strips, heatmap, gaps', () => {
    const text = renderTimelineText(report);
    expect(text).toContain('devices 2  polls 80 of 120 due (coverage 66.7%)');
    expect(text).toMatch(/steady\s+60s\s+60\s+60\s+60\s+100\.0%\s+100\.0%/);
    const heat = text.split('\n').filter((l) => l.startsWith('steady'));
    expect(heat[2]).toBe(`steady           ${' '.repeat(10)}█${' '.repeat(13)}`);
    expect(text).toContain('Gaps (1;');
    expect(text).toMatch(/odd <&> "id", x\s+2024-01-01T10:19:01Z\s+open\s+40m59s\s+40/);
    expect(renderTimelineText(buildTimeline([], [], { window, tolerance: 0.5 }))).toContain(
      'no polls stored in this window',
    );
  });

  it('CSV: RFC 4180 quoting, one row per device-hour, device and gap', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    const csv = timelineCsv(report);
    expect(csv.hours.split('\r\n')).toEqual([
      'device_id,hour_start,polls,ok,due,coverage',
      '"odd <&> ""id"", x",2024-01-01T10:00:00Z,20,20,60,0.3333',
      'steady,2024-01-01T10:00:00Z,60,60,60,1',
      '',
    ]);
    expect(csv.devices.split('\r\n')).toHaveLength(4);
    expect(csv.gaps).toContain('2024-01-01T10:19:01Z,2024-01-01T11:00:00Z,2459,40,true');
  });

  it('SVG: well formed, escaped, one heatmap cell per device and hour', () => {
    const svg = timelineSvg(report);
    expect(
      svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'),
    ).toBe(true);
    expect(balanced(svg)).toBe(true);
    expect(svg).not.toContain('odd <&>');
    expect(svg).toContain(xmlEscape('odd <&> "id", x'));
    expect(svg.match(/ 00:00 UTC| \d\d:00 UTC: /g)).toHaveLength(48);
    // The steady device's strip is one run of green; the other's has a gap bar.
    expect(svg).toMatch(/fill="#b2182b"><title>gap 2024-01-01T10:19:01Z \.\. open, 40 missed polls/);
  });
});
