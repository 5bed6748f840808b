import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaults,
  envVars,
  loadConfig,
  redactConfig,
  secretPaths,
} from '../../../../src/core/config/index.ts';
import { AmoskysError, ConfigError } from '../../../../src/core/errors/index.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'amoskys-config-'));
const load = (env: NodeJS.ProcessEnv, extra: Parameters<typeof loadConfig>[0] = {}) =>
  loadConfig({ env, cwd: tmp(), ...extra });

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns the defaults when nothing is set', () => {
    const { config, sources } = load({});
    expect({ ...config, stateDir: defaults.stateDir }).toEqual(defaults);
    expect(sources.size).toBe(0);
  });

  it('applies precedence code > env > file > defaults', () => {
    const dir = tmp();
    const file = path.join(dir, 'amoskys.yaml');
    writeFileSync(
      file,
      'clickhouse:\n  database: from_file\n  username: file_user\nkafka:\n  clientId: file-client\n',
    );
    const { config, sources } = loadConfig({
      cwd: dir,
      file,
      env: { AMOSKYS_CLICKHOUSE_DATABASE: 'from_env', AMOSKYS_KAFKA_CLIENT_ID: 'env-client' },
      overrides: { kafka: { clientId: 'code-client' } },
    });
    expect(config.clickhouse.database).toBe('from_env');
    expect(config.clickhouse.username).toBe('file_user');
    expect(config.kafka.clientId).toBe('code-client');
    expect(config.clickhouse.url).toBe(defaults.clickhouse.url);
    expect(sources.get('clickhouse.database')).toBe('env AMOSKYS_CLICKHOUSE_DATABASE');
    expect(sources.get('clickhouse.username')).toBe('file amoskys.yaml');
    expect(sources.get('kafka.clientId')).toBe('code');
  });

  it('finds ./amoskys.yaml and AMOSKYS_CONFIG', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'amoskys.yaml'), 'topics:\n  raw: amoskys.telemetry.raw.v2\n');
    expect(loadConfig({ cwd: dir, env: {} }).config.topics.raw).toBe('amoskys.telemetry.raw.v2');
    const other = path.join(dir, 'other.yaml');
    writeFileSync(other, 'topics:\n  raw: amoskys.telemetry.raw.v3\n');
    expect(loadConfig({ cwd: dir, env: { AMOSKYS_CONFIG: other } }).config.topics.raw).toBe(
      'amoskys.telemetry.raw.v3',
    );
  });

  it('parses list, int and bool variables', () => {
    const { config } = load({
      AMOSKYS_KAFKA_BROKERS: 'a.example:9092, b.example:9093',
      AMOSKYS_SNMP_PORT: '16100',
      AMOSKYS_KAFKA_SSL: 'true',
    });
    expect(config.kafka.brokers).toEqual(['a.example:9092', 'b.example:9093']);
    expect(config.snmp.port).toBe(16100);
    expect(config.kafka.ssl).toBe(true);
  });

  it('names the path, the value and the variable of every invalid setting', () => {
    const err = configErrorOf(() =>
      load({ AMOSKYS_KAFKA_BROKERS: 'no-port', AMOSKYS_SNMP_PORT: 'abc', AMOSKYS_KAFKA_SSL: 'maybe' }),
    );
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i]));
    expect(byPath['kafka.brokers.0']).toMatchObject({
      value: 'no-port',
      source: 'env AMOSKYS_KAFKA_BROKERS',
    });
    expect(byPath['snmp.port']).toMatchObject({ value: 'abc', source: 'env AMOSKYS_SNMP_PORT' });
    expect(byPath['kafka.ssl']).toMatchObject({ value: 'maybe', source: 'env AMOSKYS_KAFKA_SSL' });
    expect(err.message).toContain('kafka.brokers.0');
    expect(err.retriable).toBe(false);
  });

  it('rejects unknown keys in the file with their path', () => {
    const dir = tmp();
    const file = path.join(dir, 'amoskys.yaml');
    writeFileSync(file, 'clickhouse:\n  pasword: oops\n');
    const err = configErrorOf(() => loadConfig({ cwd: dir, file, env: {} }));
    expect(err.message).toMatch(/pasword/);
  });

  it('points a half-configured SASL block at the variable that started it', () => {
    const err = configErrorOf(() => load({ AMOSKYS_KAFKA_SASL_MECHANISM: 'scram-sha-512' }));
    expect(err.issues.map((i) => i.path).sort()).toEqual(['kafka.sasl.password', 'kafka.sasl.username']);
    expect(err.issues[0]?.source).toBe('env AMOSKYS_KAFKA_SASL_MECHANISM');
  });

  it('never echoes a secret in an error', () => {
    const err = configErrorOf(() => load({ AMOSKYS_SNMP_V3_AUTH_PASS: 'short' }));
    expect(err.issues[0]?.path).toBe('snmp.v3.authPass');
    expect(err.message).not.toContain('short"');
    expect(err.issues[0]?.value).toBe('***');
  });

  it('warns about AMOSKYS_* variables that no setting reads', () => {
    const { warnings } = load({
      AMOSKYS_CLICKHOUSE_PASWORD: 'x',
      AMOSKYS_REPO_ROOT: '/r',
      AMOSKYS_KAFKA_PORT: '1',
    });
    expect(warnings).toEqual([expect.stringContaining('AMOSKYS_CLICKHOUSE_PASWORD')]);
  });

  it('reports a missing or unparseable file clearly', () => {
    expect(() => loadConfig({ env: {}, file: '/nonexistent/amoskys.yaml' })).toThrow(AmoskysError);
    const dir = tmp();
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'kafka: [unclosed');
    expect(() => loadConfig({ env: {}, file: bad, cwd: dir })).toThrow(/cannot read configuration file/);
  });

  it('resolves a relative stateDir against the file that set it', () => {
    const dir = tmp();
    const file = path.join(dir, 'amoskys.yaml');
    writeFileSync(file, 'stateDir: ./state\n');
    expect(loadConfig({ file, env: {} }).config.stateDir).toBe(path.join(dir, 'state'));
  });
});

describe('redactConfig', () => {
  it('replaces every secret that is set, and only secrets', () => {
    const { config } = load({
      AMOSKYS_KAFKA_SASL_MECHANISM: 'plain',
      AMOSKYS_KAFKA_SASL_USERNAME: 'user',
      AMOSKYS_KAFKA_SASL_PASSWORD: 'kafka-secret',
      AMOSKYS_REGISTRY_USERNAME: 'reg',
      AMOSKYS_REGISTRY_PASSWORD: 'registry-secret',
      AMOSKYS_CLICKHOUSE_PASSWORD: 'clickhouse-secret',
    });
    const printed = JSON.stringify(redactConfig(config));
    for (const secret of [
      'kafka-secret',
      'registry-secret',
      'clickhouse-secret',
      'amoskys-auth-pass',
      'amoskys-priv-pass',
    ]) {
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain('"username":"user"');
    expect(config.clickhouse.password).toBe('clickhouse-secret');
  });

  it('covers every variable marked secret', () => {
    const marked = Object.values(envVars)
      .filter((v) => v.secret)
      .map((v) => v.path);
    expect([...secretPaths].sort()).toEqual(marked.sort());
    expect(marked).toContain('clickhouse.password');
  });
});
