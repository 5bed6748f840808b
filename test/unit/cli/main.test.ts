import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';

/** Runs the CLI as a user would, with a clean AMOSKYS_* environment plus `env`. */
function amoskys(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMOSKYS_')));
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    { env: { ...clean, ...env }, encoding: 'utf8', cwd: repoRoot },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('amoskys CLI', () => {
  it('teaches with --help on every command', () => {
    for (const args of [[], ['stack'], ['stack', 'up'], ['stack', 'status'], ['config', 'print'], ['demo']]) {
      const { code, stdout } = amoskys([...args, '--help']);
      expect(code, args.join(' ')).toBe(0);
      expect(stdout).toMatch(/^Usage: amoskys/);
    }
    // Six CLI starts; each loads every command's modules (about 1 s on a busy 2-core machine).
  }, 30_000);

  it('stops with exit code 2 and the failing path and value on invalid configuration', () => {
    const { code, stderr } = amoskys(['config', 'print'], { AMOSKYS_CLICKHOUSE_URL: 'ftp://nope' });
    expect(code).toBe(2);
    expect(stderr).toContain('clickhouse.url');
    expect(stderr).toContain('"ftp://nope" from env AMOSKYS_CLICKHOUSE_URL');
  });

  it('prints the configuration with secrets redacted', () => {
    const { code, stdout } = amoskys(['config', 'print', '--json'], {
      AMOSKYS_CLICKHOUSE_PASSWORD: 'hunter2-clickhouse',
      AMOSKYS_SNMP_V3_PRIV_PASS: 'hunter2-privacy',
    });
    expect(code).toBe(0);
    expect(stdout).not.toContain('hunter2');
    expect(JSON.parse(stdout).clickhouse.password).toBe('***');
  });

  it('rejects an unknown component with a usage error', () => {
    const { code, stderr } = amoskys(['stack', 'status', 'zookeeper']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/zookeeper/);
  });
});
