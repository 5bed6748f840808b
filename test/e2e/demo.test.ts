/**
 * The README's first command, end to end on the local stack: every device is polled on its
 * interval (simulated devices included), everything reaches ClickHouse, and the summary reconciles.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../src/core/config/index.ts';

describe('amoskys demo', () => {
  it('polls snmpd and the simulated fleet on their interval and reconciles', () => {
    const devices = 3;
    const intervalS = 2;
    const durationS = 9;
    const result = spawnSync(
      process.execPath,
      [
        `${repoRoot}/src/cli/main.ts`,
        'demo',
        '--json',
        `--devices=${devices}`,
        `--interval=${intervalS}`,
        `--duration=${durationS}`,
      ],
      {
        env: { ...process.env, ...inject('amoskysEnv'), AMOSKYS_METRICS_PORT: '0' },
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    expect(result.status, result.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as Record<string, unknown>;
    expect(summary.reconciles).toBe(true);
    expect(summary.devices).toBe(devices + 1);
    // Each device gets a poll per slot of its interval; a 60 s default interval would give one.
    expect(summary.envelopesProduced as number).toBeGreaterThanOrEqual((devices + 1) * 3);
    expect(summary.missedSlots).toEqual({ down: 0, overload: 0, late: 0 });
    // Read back from ClickHouse: every envelope of the run once, with every metric it carried.
    const stored = summary.stored as Record<
      'envelopes' | 'distinctKeys' | 'featureRows' | 'metricRows' | 'metricsInEnvelopes' | 'bytesStored',
      number
    >;
    expect(stored.envelopes).toBe(summary.envelopesProduced);
    expect(stored.distinctKeys).toBe(stored.envelopes);
    expect(stored.featureRows).toBe(summary.envelopesProduced);
    expect(stored.metricRows).toBe(stored.metricsInEnvelopes);
    expect(stored.metricRows).toBeGreaterThan(stored.envelopes * 20);
    expect(stored.bytesStored).toBe(summary.bytesProduced);
  }, 300_000);
});
