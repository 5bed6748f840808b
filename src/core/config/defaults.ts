import { fileURLToPath } from 'node:url';
import type { Config } from './schema.ts';

/** Repository root, for defaults that point into the checkout. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/**
 * Defaults: the local stack on loopback (infra/local), the same ports as infra/compose.
 * Credentials here are for the throwaway local services only.
 */
export const defaults: Config = {
  stateDir: `${repoRoot}/.amoskys`,
  logLevel: 'info',
  kafka: {
    brokers: ['127.0.0.1:9092'],
    clientId: 'amoskys',
    ssl: false,
  },
  registry: {
    url: 'http://127.0.0.1:8081/apis/ccompat/v7',
  },
  clickhouse: {
    url: 'http://127.0.0.1:8123',
    username: 'default',
    password: '',
    database: 'amoskys',
  },
  snmp: {
    host: '127.0.0.1',
    port: 1161,
    community: 'amoskys',
    v3: {
      user: 'amoskys-v3',
      authProtocol: 'sha256',
      authPass: 'amoskys-auth-pass',
      privProtocol: 'aes',
      privPass: 'amoskys-priv-pass',
    },
  },
  topics: {
    raw: 'amoskys.telemetry.raw.v1',
    features: 'amoskys.telemetry.features.v1',
    dlq: 'amoskys.telemetry.dlq.v1',
    processorState: 'amoskys.processor.state.v1',
  },
  processor: {
    groupId: 'amoskys-processor',
    trustStore: '',
    freshnessWindowSeconds: 3600,
    maxFutureSkewSeconds: 60,
    dedupRetentionSeconds: 7200,
    maxMessageBytes: 524_288,
    workers: 0,
  },
  sink: {
    groupId: 'amoskys-sink',
    batchRows: 100_000,
    flushIntervalMs: 1000,
  },
  producer: {
    inventory: '',
    keyFile: '',
    intervalSeconds: 10,
  },
  metrics: {
    host: '127.0.0.1',
    port: 9464,
  },
  stack: {
    kafkaControllerPort: 9093,
    clickhouseTcpPort: 9000,
    registryManagementPort: 9081,
    startTimeoutSeconds: 180,
  },
};
