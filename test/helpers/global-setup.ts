/**
 * Global setup of the integration and e2e projects: makes the real stack available, creates one
 * ClickHouse database for this run, and hands the endpoints to the test files through
 * `provide('amoskysEnv')` (read them with `testConfig()` from ./config.ts).
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createClickHouse } from '../../src/core/clickhouse/index.ts';
import { loadConfig } from '../../src/core/config/index.ts';
import { stackStatus, stackUp } from '../../src/core/stack/index.ts';
import { chooseProvider, dockerEngineReachable } from './provider.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** AMOSKYS_* variables that point the tests at the stack of this run. */
    amoskysEnv: Record<string, string>;
    /** Short random id of this run, used in database and topic names. */
    runId: string;
    /** Where the stack comes from: fault tests restart services only on the local stack. */
    stackProvider: 'external' | 'testcontainers' | 'local';
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = randomBytes(4).toString('hex');
  const { provider, reason } = chooseProvider(process.env, await dockerEngineReachable());
  process.stderr.write(`[test-stack] provider: ${provider} (${reason})\n`);

  let env: Record<string, string> = {};
  let stopContainers: (() => Promise<void>) | undefined;
  if (provider === 'testcontainers') {
    const { startContainers } = await import('./testcontainers.ts');
    const started = await startContainers();
    env = started.env;
    stopContainers = started.stop;
  } else if (provider === 'local') {
    const { config } = loadConfig();
    const statuses = await stackStatus(config);
    if (statuses.every((s) => s.healthy)) {
      process.stderr.write('[test-stack] reusing the running local stack\n');
    } else {
      const down = statuses.filter((s) => !s.healthy).map((s) => s.name);
      process.stderr.write(`[test-stack] starting local stack components: ${down.join(', ')}\n`);
      await stackUp(config);
    }
  }

  // One database per run: tests never see each other's tables, and a failed run leaves
  // evidence behind under a name that says which run it was.
  const database = `amoskys_test_${runId}`;
  env.AMOSKYS_CLICKHOUSE_DATABASE = database;
  const { config } = loadConfig({ env: { ...process.env, ...env } });
  const admin = createClickHouse(config, { database: null });
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await admin.close();

  project.provide('amoskysEnv', env);
  project.provide('runId', runId);
  project.provide('stackProvider', provider);

  return async () => {
    if (process.env.AMOSKYS_TEST_KEEP_DATABASE !== '1') {
      const client = createClickHouse(config, { database: null });
      await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await client.close();
    }
    await stopContainers?.();
  };
}
