/**
 * ClickHouse with a password-protected user: the CLI works with the right password from the
 * environment and, with a wrong one, exits 1 with one line that says authentication failed and
 * which settings to check: no stack trace, no password.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { migrations } from '../../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate } from '../../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../../src/core/config/index.ts';
import { ClickHouseSchemaError } from '../../../src/core/errors/index.ts';
import { clickhouseTestUser } from '../../helpers/clickhouse-user.ts';
import { testConfig } from '../../helpers/config.ts';

function cli(args: string[], env: Record<string, string>) {
  const result = spawnSync(`${repoRoot}/bin/amoskys`, args, {
    env: { ...process.env, ...inject('amoskysEnv'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('ClickHouse credentials', () => {
  it('migrates as a password-protected user and refuses a wrong password in words', async (ctx) => {
    const user = await clickhouseTestUser(ctx, testConfig());
    if (user === undefined) {
      ctx.skip('ClickHouse 18.16 that is not the local server: cannot add a user');
      return;
    }
    const env = { AMOSKYS_CLICKHOUSE_USERNAME: user.username, AMOSKYS_CLICKHOUSE_PASSWORD: user.password };

    const ok = cli(['clickhouse', 'migrate', '--dry-run', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ dryRun: true, database: testConfig().clickhouse.database });

    const wrong = `${user.password}-wrong`;
    const bad = cli(['clickhouse', 'migrate', '--dry-run'], { ...env, AMOSKYS_CLICKHOUSE_PASSWORD: wrong });
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(
      /^amoskys: cannot read the ClickHouse server version: ClickHouse authentication failed \(code (193|516)\): .+; check clickhouse\.username and clickhouse\.password/,
    );
    expect(bad.stderr).toContain(user.username);
    expect(bad.stderr + bad.stdout).not.toContain(wrong);
    expect(bad.stdout).toBe('');

    // The same from code: not retriable (a person has to fix the password).
    const client = createClickHouse(
      { ...user.config, clickhouse: { ...user.config.clickhouse, password: wrong } },
      { database: null },
    );
    ctx.onTestFinished(() => client.close());
    const err = await migrate(client, {
      database: user.config.clickhouse.database,
      migrations,
      dryRun: true,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClickHouseSchemaError);
    expect((err as ClickHouseSchemaError).retriable).toBe(false);
  });
});
