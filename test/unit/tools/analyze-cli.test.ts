import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';

function amoskys(args: string[], extra: Record<string, string> = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMOSKYS_')));
  const result = spawnSync(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      '--disable-warning=TimeoutNegativeWarning',
      `${repoRoot}/src/cli/main.ts`,
      ...args,
    ],
    { env: { ...env, ...extra }, encoding: 'utf8', cwd: repoRoot, timeout: 60_000 },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('amoskys analyze (command line)', () => {
  it('teaches with --help, exit codes included', () => {
    const { code, stdout } = amoskys(['analyze', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: amoskys analyze/);
    expect(stdout).toMatch(/Exit codes: 0 produced = stored \+ rejected \+ duplicates/);
  }, 60_000);

  it('refuses bad options with exit code 2', () => {
    for (const [args, message] of [
      [['--min-stored-ratio', 'half'], /--min-stored-ratio must be a number/],
      [['--hours', '-3'], /--hours must be a number/],
      [['--until', 'soon'], /--until "soon" is not a time/],
      [['--bogus'], /unknown option '--bogus'/],
    ] as const) {
      const run = amoskys(['analyze', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  }, 60_000);

  it('exits 2, not 1, when it cannot run: 1 is kept for loss', () => {
    // Nothing listens on port 9: ClickHouse does not answer (it is asked first, Kafka would retry for long).
    const run = amoskys(['analyze'], { AMOSKYS_CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^amoskys analyze: .*ECONNREFUSED/m);
  }, 60_000);
});
