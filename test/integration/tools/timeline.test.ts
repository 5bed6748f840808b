/**
 * `amoskys timeline` as a user runs it, on polls the real pipeline stored (snmpd + simulated
 * devices -> producer -> processor -> sink -> ClickHouse), with one stored poll deleted to make
 * a gap: JSON, text, CSV and SVG agree with what was produced.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { sqlString } from '../../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../../src/core/config/index.ts';
import { idempotencyKeyOf, parseIdempotencyKey } from '../../../src/tools/analyze/index.ts';
import { isoSeconds, type TimelineReport } from '../../../src/tools/timeline/index.ts';
import { storedPipeline } from '../../helpers/stored-pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

function amoskys(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
      { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

describe('amoskys timeline', () => {
  it('reports the stored polls, their gaps and inter-arrivals, as JSON, text, CSV and SVG', async (ctx) => {
    const p = await storedPipeline(ctx, { devices: 2, polls: 5 });
    const db = p.config.clickhouse.database;
    const env = { ...inject('amoskysEnv'), AMOSKYS_CLICKHOUSE_DATABASE: db, AMOSKYS_LOG_LEVEL: 'error' };

    // Slots per device, as produced.
    const slots = new Map<string, number[]>();
    for (const m of p.produced) {
      const key = parseIdempotencyKey(idempotencyKeyOf(m.value) ?? '');
      if (key === null) throw new Error('a produced message without a key');
      slots.set(
        key.deviceId,
        [...(slots.get(key.deviceId) ?? []), key.slotStartS].sort((a, b) => a - b),
      );
    }
    // Delete a middle poll of one simulated device: a gap of (at least) one missed poll.
    const victim = p.devices[1] as string;
    const victimSlots = slots.get(victim) ?? [];
    expect(victimSlots.length).toBeGreaterThanOrEqual(4);
    const deleted = victimSlots[2] as number;
    await p.db.client.command({
      query: `ALTER TABLE ${db}.features DELETE WHERE device_id = ${sqlString(victim)} AND slot_start = toDateTime(${deleted})`,
    });
    await waitFor(
      async () => {
        const [row] = await p.db.rows<{ n: string }>(
          `SELECT count() AS n FROM system.mutations WHERE database = ${sqlString(db)} AND is_done = 0`,
        );
        return Number(row?.n) === 0;
      },
      { description: 'the mutation to finish', timeoutMs: 60_000 },
    );

    const lastSlot = Math.max(...[...slots.values()].map((s) => s[s.length - 1] as number));
    const until = lastSlot + 4;
    const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-timeline-'));
    const csv = path.join(dir, 'timeline.csv');
    const svg = path.join(dir, 'timeline.svg');
    const run = await amoskys(
      ['timeline', '--hours', '1', '--until', String(until), '--json', '--export-csv', csv, '--image', svg],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(`read ${p.produced.length - 1} polls of ${p.devices.length} devices`),
    );
    const report = JSON.parse(run.stdout) as TimelineReport;

    expect(report.window).toEqual({ startS: until - 3600, endS: until });
    expect(report.devices.map((d) => d.deviceId)).toEqual([...p.devices].sort());
    expect(report.totals.polls).toBe(p.produced.length - 1);
    expect(report.hourly.reduce((s, h) => s + h.polls, 0)).toBe(p.produced.length - 1);
    expect(report.heatmap.flatMap((r) => r.polls).reduce((s, n) => s + n, 0)).toBe(p.produced.length - 1);
    for (const d of report.devices) {
      const own = slots.get(d.deviceId) ?? [];
      const polls = own.length - (d.deviceId === victim ? 1 : 0);
      expect(d.intervalS, d.deviceId).toBe(1);
      expect(d.polls, d.deviceId).toBe(polls);
      // New devices: the first poll is not judged.
      expect(d.judged, d.deviceId).toBe(polls - 1);
      // The producer stopped: an open gap from the last poll to the window end (grace 0.5 s).
      const open = d.gaps.filter((g) => g.open);
      expect(open, d.deviceId).toHaveLength(1);
      expect(open[0]?.missedPolls, d.deviceId).toBe(until - 1 - (own[own.length - 1] as number));
      expect(d.expected, d.deviceId).toBe(until - (own[0] as number));
    }
    const gap = report.devices
      .find((d) => d.deviceId === victim)
      ?.gaps.find((g) => !g.open && g.fromS < deleted + 1 && g.toS > deleted);
    expect(gap, `a gap over the deleted slot ${isoSeconds(deleted)}`).toBeDefined();
    expect(gap?.missedPolls).toBeGreaterThanOrEqual(1);
    expect(gap?.durationS).toBeGreaterThan(1.5);
    ctx.annotate(
      `health ${report.totals.healthScore?.toFixed(3)} (${report.totals.onTime}/${report.totals.judged}), ` +
        `inter-arrival p50/p95/max ${report.devices.map((d) => `${d.interArrival?.p50S.toFixed(3)}/${d.interArrival?.p95S.toFixed(3)}/${d.interArrival?.maxS.toFixed(3)}`).join(' ')}`,
    );

    // CSV: device x hour, devices, gaps; SVG with every device.
    const hours = readFileSync(csv, 'utf8').trimEnd().split('\r\n');
    expect(hours[0]).toBe('device_id,hour_start,polls,ok,due,coverage');
    expect(hours.slice(1).reduce((s, line) => s + Number(line.split(',')[2]), 0)).toBe(p.produced.length - 1);
    const devicesCsv = readFileSync(path.join(dir, 'timeline-devices.csv'), 'utf8').trimEnd().split('\r\n');
    expect(devicesCsv).toHaveLength(p.devices.length + 1);
    expect(existsSync(path.join(dir, 'timeline-gaps.csv'))).toBe(true);
    const image = readFileSync(svg, 'utf8');
    expect(image).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
    for (const id of p.devices) expect(image).toContain(`>${id}</text>`);

    // Text for people, one device.
    const text = await amoskys(
      ['timeline', '--hours', '1', '--until', String(until), '--device', victim],
      env,
    );
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('devices 1  polls');
    expect(text.stdout).toContain('Heatmap: hour of day (UTC)');
    expect(text.stdout).toMatch(
      new RegExp(`Gaps \\(2;[^\\n]*\\n.*\\n${victim}\\s+${isoSeconds(deleted - 1).slice(0, 16)}`),
    );
  }, 300_000);
});
