/**
 * Configuration errors never echo a secret: not a secret setting's own value, and not the values
 * inside an object that an issue is reported on (an unrecognised key is reported on its parent, up
 * to the whole configuration, whose leaves hold every secret, and a misspelled secret key matches
 * no secret path).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/core/config/index.ts';
import { ConfigError } from '../../../../src/core/errors/index.ts';

function configError(yaml: string, env: NodeJS.ProcessEnv): ConfigError {
  const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-config-'));
  const file = path.join(dir, 'amoskys.yaml');
  writeFileSync(file, yaml);
  try {
    loadConfig({ file, env, cwd: dir });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration errors and secrets', () => {
  it('shows objects by their keys only, so no secret inside them is printed', () => {
    const err = configError(
      [
        'unknownTopLevel: 1',
        'kafka:',
        '  ssl: true',
        '  sasl:',
        '    mechanism: scram-sha-512',
        '    username: amoskys',
        '    password: sasl-secret-value',
        '    pasword: misspelled-secret-value',
        '',
      ].join('\n'),
      {
        AMOSKYS_CLICKHOUSE_PASSWORD: 'clickhouse-secret-value',
        AMOSKYS_REGISTRY_PASSWORD: 'registry-secret-value',
      },
    );
    for (const value of [
      'sasl-secret-value',
      'misspelled-secret-value',
      'clickhouse-secret-value',
      'registry-secret-value',
    ]) {
      expect(err.message).not.toContain(value);
    }
    expect(err.issues).toContainEqual(
      expect.objectContaining({
        path: 'kafka.sasl',
        value: 'an object with keys mechanism, username, password, pasword',
      }),
    );
    expect(err.issues).toContainEqual(
      expect.objectContaining({ path: '', message: expect.stringMatching(/unknownTopLevel/) }),
    );
  });

  it('shows a secret setting with a wrong value as ***', () => {
    const err = configError('snmp:\n  v3:\n    authPass: short\n', {});
    expect(err.issues).toEqual([expect.objectContaining({ path: 'snmp.v3.authPass', value: '***' })]);
    expect(err.message).not.toContain('short"');
  });
});
