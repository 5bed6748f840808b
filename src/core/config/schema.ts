/**
 * The AMOSKYS configuration: one typed, validated object for every component.
 * Defaults live in defaults.ts, environment variables in env.ts, loading and precedence in load.ts.
 */
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, 'expected host:port');

const port = z.number().int().min(1).max(65535);

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/** Kafka topic names follow `amoskys.<domain>.<what>.v<N>`; consumers depend on them. */
const topicName = z
  .string()
  .regex(/^[a-z0-9]+(\.[a-z0-9_-]+)+\.v\d+$/, 'expected a topic name like amoskys.<domain>.<what>.v<N>');

export const kafkaSchema = z
  .strictObject({
    /** Bootstrap brokers, `host:port`. */
    brokers: z.array(hostPort).min(1),
    /** Client id prefix; each component appends its own name. */
    clientId: z.string().min(1),
    /** Connect with TLS. Broker certificates are verified, host names included. */
    ssl: z.boolean(),
    /**
     * PEM file of the CA certificate(s) that signed the brokers' certificates, trusted instead of
     * Node's built-in CA list; absent means the built-in list. Needs `ssl: true`.
     */
    caFile: z.string().min(1).optional(),
    /** SASL authentication; absent means none. */
    sasl: z
      .strictObject({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z.string().min(1),
      })
      .optional(),
  })
  // A CA file without TLS would be silently ignored and the connection made in clear text.
  .refine((k) => k.caFile === undefined || k.ssl, {
    path: ['caFile'],
    message: 'kafka.caFile needs kafka.ssl: true (AMOSKYS_KAFKA_SSL=true)',
  });

export const registrySchema = z.strictObject({
  /** Base URL of the Confluent-compatible API (Apicurio: `.../apis/ccompat/v7`). */
  url: httpUrl,
  username: z.string().optional(),
  password: z.string().optional(),
});

export const clickhouseSchema = z.strictObject({
  /** HTTP(S) interface of the server. */
  url: httpUrl,
  username: z.string().min(1),
  password: z.string(),
  /** Database that holds the AMOSKYS tables and views. */
  database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse identifier'),
});

export const snmpSchema = z.strictObject({
  /** The reference SNMP agent (the local snmpd): tests and the demo poll it. */
  host: z.string().min(1),
  port,
  community: z.string().min(1),
  v3: z.strictObject({
    user: z.string().min(1),
    /** net-snmp spelling: `sha256` etc.; snmpd was configured with SHA-256. */
    authProtocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']),
    authPass: z.string().min(8, 'SNMPv3 passphrases need at least 8 characters'),
    privProtocol: z.enum(['des', 'aes', 'aes256b', 'aes256r']),
    privPass: z.string().min(8, 'SNMPv3 passphrases need at least 8 characters'),
  }),
});

export const topicsSchema = z.strictObject({
  raw: topicName,
  features: topicName,
  dlq: topicName,
  /** The processor's changelog: dedup keys and counter snapshots, per input partition. */
  processorState: topicName,
});

export const processorSchema = z.strictObject({
  /** Consumer group of the processor instances; also the prefix of their transactional ids. */
  groupId: z.string().min(1),
  /** Trust-store file (`amoskys keys add|revoke|list`); `''` means `<stateDir>/keys/trust-store.json`. */
  trustStore: z.string(),
  /** Envelopes older than this are rejected as stale, seconds. */
  freshnessWindowSeconds: z.number().int().min(1),
  /** Envelopes further in the future than this are rejected, seconds. */
  maxFutureSkewSeconds: z.number().int().min(0),
  /** How long idempotency keys are remembered, seconds; must exceed the freshness window. */
  dedupRetentionSeconds: z.number().int().min(1),
  /** Larger messages are rejected as oversize, bytes. */
  maxMessageBytes: z.number().int().min(1024),
  /** Signature-checking worker threads; 0 means one per CPU core. */
  workers: z.number().int().min(0).max(64),
});

export const sinkSchema = z.strictObject({
  /** Consumer group of the ClickHouse sink instances. */
  groupId: z.string().min(1),
  /**
   * Most rows of one table in one insert. A batch must stay one ClickHouse block to be atomic, so
   * this may not exceed the server's default `max_insert_block_size` (1,048,576).
   */
  batchRows: z.number().int().min(1).max(1_048_576),
  /** Longest a consumed message waits for its batch to fill before it is inserted anyway, ms. */
  flushIntervalMs: z.number().int().min(10).max(60_000),
});

export const producerSchema = z.strictObject({
  /** Device inventory (YAML); `''` polls only the reference agent (`snmp.*`) as `local-snmpd`. */
  inventory: z.string(),
  /** Ed25519 key file made by `amoskys keys generate`; `''` means `<stateDir>/keys/producer.json`. */
  keyFile: z.string(),
  /** Poll interval of the reference agent when no inventory is given, seconds. */
  intervalSeconds: z.number().int().min(1).max(86_400),
});

export const metricsSchema = z.strictObject({
  /** Address the /metrics and /healthz server binds; `0.0.0.0` in containers. */
  host: z.string().min(1),
  /** Port of /metrics (Prometheus) and /healthz; 0 picks a free one (tests). */
  port: z.number().int().min(0).max(65535),
});

export const stackSchema = z.strictObject({
  /** KRaft controller port of the local broker (the client port comes from `kafka.brokers[0]`). */
  kafkaControllerPort: port,
  /** Native protocol port of the local ClickHouse (`clickhouse-client`, benchmarks). */
  clickhouseTcpPort: port,
  /** Apicurio's Quarkus management interface (its default, 9000, is ClickHouse's native port). */
  registryManagementPort: port,
  /** Seconds to wait for each component to answer on `stack up`. */
  startTimeoutSeconds: z.number().int().min(5).max(900),
});

export const configSchema = z.strictObject({
  /** Folder for local stack state, downloads, logs, keys. Git-ignored. */
  stateDir: z.string().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  kafka: kafkaSchema,
  registry: registrySchema,
  clickhouse: clickhouseSchema,
  snmp: snmpSchema,
  topics: topicsSchema,
  processor: processorSchema,
  sink: sinkSchema,
  producer: producerSchema,
  metrics: metricsSchema,
  stack: stackSchema,
});

/** The validated configuration every component receives. */
export type Config = z.infer<typeof configSchema>;
