/**
 * A password-protected ClickHouse user for one test, with a random password. Current servers get
 * `CREATE USER ... IDENTIFIED WITH sha256_password` and grants on the given databases (default:
 * the run's); ClickHouse 18.16 (no RBAC) gets a file in the local server's `users.d/`, which the
 * server re-reads within seconds. `kind` picks the rights: `admin` (everything), or the
 * least-privilege `sink` and `analyst` users of docs/analysts.md (18.16: the profiles and
 * `allow_databases` of infra/local/clickhouse/users.d/amoskys-users.xml.example; current servers:
 * the grants of the `<db>_sink` / `<db>_analyst` roles of migration 3).
 * The user is removed when the test finishes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'vitest';
import { SINK_TABLES } from '../../schemas/clickhouse/0003_access.ts';
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
  options: { databases?: readonly string[]; kind?: 'admin' | 'sink' | 'analyst' } = {},
): Promise<ClickHouseTestUser | undefined> {
  const kind = options.kind ?? 'admin';
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
      const grants =
        kind === 'admin'
          ? [`GRANT ALL ON ${database}.* TO ${username}`]
          : kind === 'analyst'
            ? [`GRANT SELECT ON ${database}.* TO ${username}`]
            : SINK_TABLES.map((t) => `GRANT INSERT, SELECT ON ${database}.${t} TO ${username}`);
      for (const query of grants) await admin.command({ query });
    }
  } else {
    const usersDir = path.join(base.stateDir, 'clickhouse', 'users.d');
    if (!existsSync(usersDir)) return undefined;
    const file = path.join(usersDir, `${username}.xml`);
    const hash = createHash('sha256').update(password).digest('hex');
    // The profiles of the users.d example, under this user's own name.
    const settings =
      kind === 'analyst' ? '<readonly>1</readonly>' : '<readonly>0</readonly><allow_ddl>0</allow_ddl>';
    const profile = kind === 'admin' ? '' : `<profiles><${username}>${settings}</${username}></profiles>`;
    const databases =
      kind === 'admin'
        ? ''
        : `\n  <allow_databases>${(options.databases ?? [base.clickhouse.database]).map((d) => `<database>${d}</database>`).join('')}</allow_databases>`;
    writeFileSync(
      file,
      `<?xml version="1.0"?>
<!-- Written by an AMOSKYS test (test/helpers/clickhouse-user.ts) and removed when it finishes. -->
<yandex>${profile}<users><${username}>
  <password_sha256_hex>${hash}</password_sha256_hex>
  <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
  <profile>${kind === 'admin' ? 'default' : username}</profile><quota>default</quota>${databases}
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
