import { describe, expect, it } from 'vitest';
import { defaults } from '../../../../src/core/config/index.ts';
import { AmoskysError } from '../../../../src/core/errors/index.ts';
import { parseStatusLine, stackEnv } from '../../../../src/core/stack/index.ts';

describe('stackEnv', () => {
  it('derives the scripts’ ports from the configured endpoints', () => {
    const env = stackEnv({
      ...defaults,
      kafka: { ...defaults.kafka, brokers: ['127.0.0.1:19092'] },
      registry: { url: 'http://localhost:18081/apis/ccompat/v7' },
      clickhouse: { ...defaults.clickhouse, url: 'http://127.0.0.1:18123' },
      snmp: { ...defaults.snmp, port: 11161 },
    });
    expect(env).toMatchObject({
      AMOSKYS_KAFKA_PORT: '19092',
      AMOSKYS_REGISTRY_PORT: '18081',
      AMOSKYS_CLICKHOUSE_HTTP_PORT: '18123',
      AMOSKYS_CLICKHOUSE_TCP_PORT: '9000',
      AMOSKYS_SNMP_PORT: '11161',
      AMOSKYS_STATE_DIR: defaults.stateDir,
    });
  });

  it('refuses to run the local stack for endpoints off loopback', () => {
    const config = { ...defaults, kafka: { ...defaults.kafka, brokers: ['kafka.prod.example:9092'] } };
    expect(() => stackEnv(config)).toThrow(AmoskysError);
    expect(() => stackEnv(config)).toThrow(/kafka\.brokers -> kafka\.prod\.example/);
  });
});

describe('parseStatusLine', () => {
  it('reads the tab-separated line of a component script', () => {
    expect(parseStatusLine('kafka\t127.0.0.1:9092\t4.1.1\tup\tpid 42\n', 'x')).toEqual({
      name: 'kafka',
      endpoint: '127.0.0.1:9092',
      version: '4.1.1',
      healthy: true,
      detail: 'pid 42',
    });
  });

  it('treats anything but "up" as down, and an empty line as the fallback component', () => {
    expect(parseStatusLine('snmpd\tudp:127.0.0.1:1161\t-\tdown\tnot running', 'x').healthy).toBe(false);
    expect(parseStatusLine('', 'clickhouse')).toMatchObject({ name: 'clickhouse', healthy: false });
  });
});
