/**
 * A password-protected ClickHouse user for one test, with a random password. Current servers get
 * `CREATE USER ... IDENTIFIED WITH sha256_password` and all rights on the given databases (default:
 * the run's); ClickHouse 18.16 (no RBAC) gets a file in the local server's `users.d/` (a user of the
 * default profile, every database), which the server re-reads within seconds.
 * The user is removed when the test finishes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'vitest';
import { capabilitiesFor, createClickHouse, parseServerVersion } from '../../src/core/clickhouse/index.ts';
import type { Config } from '../../src/core/config/index.ts';
import { waitFor } from './wait.ts';

export interface ClickHouseTestUser {
  username: string;
  password: string;
  /** `base` connecting as this user. */
  config: Config;
}

/**
 * Creates the user and waits until it can log in. Returns `undefined` (the caller skips) when the
 * server is 18.16 but not the local one, whose users.d folder this helper writes.
 */
export async function clickhouseTestUser(
  ctx: TestContext,
  base: Config,
  options: { databases?: readonly string[] } = {},
): Promise<ClickHouseTestUser | undefined> {
  const username = `amoskys_test_${randomBytes(4).toString('hex')}`;
  const password = `ch-${randomBytes(18).toString('base64url')}`;
  const config: Config = { ...base, clickhouse: { ...base.clickhouse, username, password } };
  const admin = createClickHouse(base, { database: null });
  ctx.onTestFinished(() => admin.close());
  const version = await (await admin.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{
    v: string;
  }>();
  const { modern } = capabilitiesFor(parseServerVersion(version[0]?.v ?? ''));
  if (modern) {
    await admin.command({
      query: `CREATE USER ${username} IDENTIFIED WITH sha256_password BY '${password}'`,
    });
    ctx.onTestFinished(async () => {
      await admin.command({ query: `DROP USER IF EXISTS ${username}` });
    });
    for (const database of options.databases ?? [base.clickhouse.database]) {
      await admin.command({ query: `GRANT ALL ON ${database}.* TO ${username}` });
    }
  } else {
    const usersDir = path.join(base.stateDir, 'clickhouse', 'users.d');
    if (!existsSync(usersDir)) return undefined;
    const file = path.join(usersDir, `${username}.xml`);
    const hash = createHash('sha256').update(password).digest('hex');
    writeFileSync(
      file,
      `<?xml version="1.0"?>
<!-- Written by an AMOSKYS test (test/helpers/clickhouse-user.ts) and removed when it finishes. -->
<yandex><users><${username}>
  <password_sha256_hex>${hash}</password_sha256_hex>
  <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
  <profile>default</profile><quota>default</quota>
</${username}></users></yandex>
`,
      { mode: 0o600 },
    );
    ctx.onTestFinished(() => rmSync(file, { force: true }));
  }
  const client = createClickHouse(config, { database: null });
  ctx.onTestFinished(() => client.close());
  // A query, not ping(): /ping answers without authentication.
  await waitFor(async () => (await client.query({ query: 'SELECT 1', format: 'JSONEachRow' })).json(), {
    description: `ClickHouse to accept the new user ${username}`,
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  return { username, password, config };
}
