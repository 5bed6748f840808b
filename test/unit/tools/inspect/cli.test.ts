/** The two commands as a user meets them: help that teaches, usage errors with exit code 2. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';

function amoskys(args: string[]) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMOSKYS_')));
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    { env: clean, encoding: 'utf8', cwd: repoRoot },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('amoskys inspect / import legacy-wal', () => {
  it('teaches with --help and examples', () => {
    const inspect = amoskys(['inspect', '--help']);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/^Usage: amoskys inspect \[options\] \[topic-or-role\]/);
    expect(inspect.stdout).toContain('amoskys inspect dlq --last');
    expect(inspect.stdout).toContain('--export-json <file>');
    const wal = amoskys(['import', 'legacy-wal', '--help']);
    expect(wal.code).toBe(0);
    expect(wal.stdout).toMatch(/^Usage: amoskys import legacy-wal \[options\] <file>/);
    expect(wal.stdout).toContain('--dry-run');
  });

  it('refuses bad usage with exit code 2 and says why', () => {
    const both = amoskys(['inspect', 'raw', '--from', 'dlq']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('name the topic once');
    const limit = amoskys(['inspect', '-n', '0']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('the limit must be at least 1');
    const table = amoskys(['inspect', 'some.topic.v1', '--source', 'clickhouse']);
    expect(table.code).toBe(2);
    expect(table.stderr).toContain('name a ClickHouse table with --table');
  });

  it('names a missing WAL file with exit code 1', () => {
    const missing = amoskys(['import', 'legacy-wal', '/nonexistent/wal.db', '--dry-run']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/nonexistent/wal.db does not exist');
  });
});
