import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';

/** Runs the CLI; options are checked before any service is contacted, so none is needed. */
function amoskys(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMOSKYS_')));
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    // An unroutable ClickHouse: reaching it would fail differently (exit 1, "reading ClickHouse").
    { env: { ...env, AMOSKYS_CLICKHOUSE_URL: 'http://127.0.0.1:9' }, encoding: 'utf8', cwd: repoRoot },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('amoskys timeline (command line)', () => {
  it('teaches with --help', () => {
    const { code, stdout } = amoskys(['timeline', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: amoskys timeline/);
    expect(stdout).toContain('health score is the share of');
    expect(stdout).toContain('--export-csv <file>');
  }, 60_000);

  it('refuses bad options with exit code 2, naming the problem', () => {
    for (const [args, message] of [
      [['--image', 'heat.png'], /--image writes SVG/],
      [['--hours', '0'], /--hours must be a number/],
      [['--hours', '1', '--since', '2024-01-01'], /give --since or --hours, not both/],
      [['--since', 'last tuesday'], /--since "last tuesday" is not a time/],
      [['--since', '2024-01-02', '--until', '2024-01-01'], /the window is empty/],
      [['--tolerance', '1.5'], /--tolerance must be a number from 0 to 0.99/],
    ] as const) {
      const run = amoskys(['timeline', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  }, 60_000);

  it('says which ClickHouse it could not read (exit 1)', () => {
    const run = amoskys(['timeline', '--hours', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('amoskys timeline: reading ClickHouse http://127.0.0.1:9');
  }, 60_000);
});
