import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/core/config/index.ts';

/** The configuration of the stack this test run uses (see global-setup.ts). */
export function testConfig(): Config {
  return loadConfig({ env: { ...process.env, ...inject('amoskysEnv') } }).config;
}

/** Short random id of this run. */
export function runId(): string {
  return inject('runId');
}
