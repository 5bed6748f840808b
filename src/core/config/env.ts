/**
 * Environment variables that configure AMOSKYS. This table is the single source of truth:
 * the loader reads it, `amoskys config env` prints it, and the tests check that infra/compose
 * and infra/k8s only set variables listed here.
 */

/** How a variable's text becomes a value. */
export type EnvKind = 'string' | 'int' | 'bool' | 'list';

/** One `AMOSKYS_*` variable. */
export interface EnvVar {
  /** Dotted configuration path the variable sets. */
  path: string;
  kind: EnvKind;
  /** Holds a credential: never printed, never logged. */
  secret: boolean;
  description: string;
}

const v = (path: string, kind: EnvKind, description: string, secret = false): EnvVar => ({
  path,
  kind,
  secret,
  description,
});

export const envVars = {
  AMOSKYS_STATE_DIR: v('stateDir', 'string', 'Folder for local state, downloads, logs and keys'),
  AMOSKYS_LOG_LEVEL: v('logLevel', 'string', 'fatal|error|warn|info|debug|trace|silent'),
  AMOSKYS_KAFKA_BROKERS: v('kafka.brokers', 'list', 'Comma-separated bootstrap brokers, host:port'),
  AMOSKYS_KAFKA_CLIENT_ID: v('kafka.clientId', 'string', 'Kafka client id prefix'),
  AMOSKYS_KAFKA_SSL: v('kafka.ssl', 'bool', 'Connect to Kafka with TLS (true|false)'),
  AMOSKYS_KAFKA_CA_FILE: v('kafka.caFile', 'string', 'PEM file of the CA(s) of the broker certificates'),
  AMOSKYS_KAFKA_SASL_MECHANISM: v('kafka.sasl.mechanism', 'string', 'plain|scram-sha-256|scram-sha-512'),
  AMOSKYS_KAFKA_SASL_USERNAME: v('kafka.sasl.username', 'string', 'Kafka SASL user'),
  AMOSKYS_KAFKA_SASL_PASSWORD: v('kafka.sasl.password', 'string', 'Kafka SASL password', true),
  AMOSKYS_REGISTRY_URL: v('registry.url', 'string', 'Confluent-compatible Schema Registry base URL'),
  AMOSKYS_REGISTRY_USERNAME: v('registry.username', 'string', 'Schema Registry basic-auth user'),
  AMOSKYS_REGISTRY_PASSWORD: v('registry.password', 'string', 'Schema Registry basic-auth password', true),
  AMOSKYS_CLICKHOUSE_URL: v('clickhouse.url', 'string', 'ClickHouse HTTP(S) URL'),
  AMOSKYS_CLICKHOUSE_USERNAME: v('clickhouse.username', 'string', 'ClickHouse user'),
  AMOSKYS_CLICKHOUSE_PASSWORD: v('clickhouse.password', 'string', 'ClickHouse password', true),
  AMOSKYS_CLICKHOUSE_DATABASE: v('clickhouse.database', 'string', 'ClickHouse database for AMOSKYS tables'),
  AMOSKYS_SNMP_HOST: v('snmp.host', 'string', 'Reference SNMP agent host'),
  AMOSKYS_SNMP_PORT: v('snmp.port', 'int', 'Reference SNMP agent UDP port'),
  AMOSKYS_SNMP_COMMUNITY: v('snmp.community', 'string', 'SNMPv2c community', true),
  AMOSKYS_SNMP_V3_USER: v('snmp.v3.user', 'string', 'SNMPv3 user'),
  AMOSKYS_SNMP_V3_AUTH_PROTOCOL: v('snmp.v3.authProtocol', 'string', 'md5|sha|sha224|sha256|sha384|sha512'),
  AMOSKYS_SNMP_V3_AUTH_PASS: v('snmp.v3.authPass', 'string', 'SNMPv3 authentication passphrase', true),
  AMOSKYS_SNMP_V3_PRIV_PROTOCOL: v('snmp.v3.privProtocol', 'string', 'des|aes|aes256b|aes256r'),
  AMOSKYS_SNMP_V3_PRIV_PASS: v('snmp.v3.privPass', 'string', 'SNMPv3 privacy passphrase', true),
  AMOSKYS_TOPIC_RAW: v('topics.raw', 'string', 'Raw envelope topic'),
  AMOSKYS_TOPIC_FEATURES: v('topics.features', 'string', 'Feature row topic'),
  AMOSKYS_TOPIC_DLQ: v('topics.dlq', 'string', 'Dead-letter topic'),
  AMOSKYS_TOPIC_PROCESSOR_STATE: v('topics.processorState', 'string', 'Processor changelog topic'),
  AMOSKYS_PROCESSOR_GROUP_ID: v('processor.groupId', 'string', 'Processor consumer group'),
  AMOSKYS_PROCESSOR_TRUST_STORE: v('processor.trustStore', 'string', 'Trust-store file of signing keys'),
  AMOSKYS_SINK_GROUP_ID: v('sink.groupId', 'string', 'ClickHouse sink consumer group'),
  AMOSKYS_SINK_BATCH_ROWS: v('sink.batchRows', 'int', 'Most rows of one table per insert'),
  AMOSKYS_SINK_FLUSH_INTERVAL_MS: v('sink.flushIntervalMs', 'int', 'Longest wait for a batch to fill, ms'),
  AMOSKYS_PRODUCER_INVENTORY: v('producer.inventory', 'string', 'Device inventory file (YAML)'),
  AMOSKYS_PRODUCER_KEY_FILE: v('producer.keyFile', 'string', 'Ed25519 signing key file of the producer'),
  AMOSKYS_PRODUCER_INTERVAL_SECONDS: v(
    'producer.intervalSeconds',
    'int',
    'Poll interval of the reference agent without an inventory',
  ),
  AMOSKYS_METRICS_HOST: v('metrics.host', 'string', 'Bind address of /metrics and /healthz'),
  AMOSKYS_METRICS_PORT: v('metrics.port', 'int', 'Port of /metrics and /healthz (0: any free port)'),
  AMOSKYS_STACK_KAFKA_CONTROLLER_PORT: v(
    'stack.kafkaControllerPort',
    'int',
    'Local broker KRaft controller port',
  ),
  AMOSKYS_STACK_CLICKHOUSE_TCP_PORT: v('stack.clickhouseTcpPort', 'int', 'Local ClickHouse native port'),
  AMOSKYS_STACK_REGISTRY_MANAGEMENT_PORT: v(
    'stack.registryManagementPort',
    'int',
    'Local registry management port',
  ),
  AMOSKYS_STACK_START_TIMEOUT_SECONDS: v('stack.startTimeoutSeconds', 'int', 'Seconds to wait per service'),
} as const satisfies Record<string, EnvVar>;

export type EnvVarName = keyof typeof envVars;

/** Dotted paths whose values are secrets. */
export const secretPaths: ReadonlySet<string> = new Set(
  Object.values(envVars)
    .filter((e) => e.secret)
    .map((e) => e.path),
);

/**
 * Converts one variable's text. Unparseable numbers and booleans are passed through as text so
 * that validation reports the path, the variable and the value instead of a silent NaN.
 */
export function parseEnvValue(kind: EnvKind, raw: string): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool': {
      const t = raw.trim().toLowerCase();
      if (t === 'true' || t === '1' || t === 'yes') return true;
      if (t === 'false' || t === '0' || t === 'no') return false;
      return raw;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
  }
}
