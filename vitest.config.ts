import { defineConfig } from 'vitest/config';

/**
 * Four projects. `unit` needs no services. `integration` and `e2e` share a global setup that
 * provides the real stack: endpoints from configuration, else testcontainers when a Docker
 * engine answers, else the native local stack (started, or reused when already running). `chaos`
 * (fault injection, test/chaos) uses the same setup and runs after everything else.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // Tests share one broker and one ClickHouse; isolation comes from random topics and
          // a database per run, but two cores are better spent on one file at a time.
          fileParallelism: false,
          // Explicit: a one-worker project left at order 0 is run after every ordered group.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // After the other projects: e2e tests restart shared services (ClickHouse).
          sequence: { groupOrder: 2 },
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          // Last of all: it restarts Kafka, the registry, ClickHouse and snmpd under whatever runs.
          // Bounded by default (a few minutes); AMOSKYS_CHAOS=full for the long form (docs/reliability.md).
          sequence: { groupOrder: 3 },
          globalSetup: ['test/helpers/global-setup.ts'],
          // The bounded run takes minutes: a hang must fail CI long before its 90-minute limit.
          testTimeout: process.env.AMOSKYS_CHAOS === 'full' ? 3_600_000 : 900_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
