import type { ConnectionOptions } from 'node:tls';
import {
  type Admin,
  type AdminConfig,
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { Logger } from '../logging/index.ts';
import { explainKafkaConnectError } from './errors.ts';
import { checkBrokerTls, kafkaTlsOptions } from './tls.ts';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Milliseconds to wait for a broker's TCP connection and, with TLS, its handshake. */
const connectionTimeoutMs = 10_000;

/**
 * kafkajs' client, except that `connect()` of its admin, producers and consumers first checks the
 * brokers' TLS certificates (with TLS on) and fails with a `KafkaConnectionError` that names
 * the brokers and the settings to check, instead of a kafkajs error and its stack.
 */
class CheckedKafka extends Kafka {
  readonly #kafka: Config['kafka'];
  readonly #tls: boolean | ConnectionOptions;

  constructor(options: KafkaConfig, kafka: Config['kafka'], tls: boolean | ConnectionOptions) {
    super(options);
    this.#kafka = kafka;
    this.#tls = tls;
  }

  override admin(config?: AdminConfig): Admin {
    return this.#guard(super.admin(config));
  }

  override producer(config?: ProducerConfig): Producer {
    return this.#guard(super.producer(config));
  }

  override consumer(config: ConsumerConfig): Consumer {
    return this.#guard(super.consumer(config));
  }

  #guard<T extends { connect(): Promise<void> }>(client: T): T {
    const connect = client.connect.bind(client);
    client.connect = async () => {
      if (this.#tls !== false) {
        const problem = await checkBrokerTls(
          this.#kafka,
          this.#tls === true ? {} : this.#tls,
          connectionTimeoutMs,
        );
        if (problem !== undefined) throw problem;
      }
      try {
        await connect();
      } catch (err) {
        throw explainKafkaConnectError(err, this.#kafka);
      }
    };
    return client;
  }
}

/**
 * A kafkajs client for one component, from the configuration. kafkajs logs go through pino
 * (child `{ component, lib: 'kafkajs' }`) instead of its own console logger. With `kafka.ssl`
 * the brokers' certificates are verified against `kafka.caFile` (else Node's CA list).
 * @throws KafkaConnectionError when `kafka.caFile` cannot be read.
 */
export function createKafka(config: Config, component: string, logger?: Logger): Kafka {
  const { kafka } = config;
  const tls = kafkaTlsOptions(kafka);
  const options: KafkaConfig = {
    clientId: `${kafka.clientId}-${component}`,
    brokers: kafka.brokers,
    ssl: tls,
    connectionTimeout: connectionTimeoutMs,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
  };
  if (kafka.sasl !== undefined) {
    options.sasl = {
      mechanism: kafka.sasl.mechanism,
      username: kafka.sasl.username,
      password: kafka.sasl.password,
    } as SASLOptions;
  }
  if (logger !== undefined) {
    const child = logger.child({ component, lib: 'kafkajs' });
    options.logLevel = logger.isLevelEnabled('debug') ? logLevel.DEBUG : logLevel.WARN;
    options.logCreator =
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        // Intended here, not a problem: AMOSKYS bounds kafkajs' retries and resends whole batches
        // itself (BatchProducer), and transactions fence stale producers (processor).
        const intended = message.startsWith('Limiting retries for the idempotent producer');
        child[intended ? 'debug' : (levels[level] ?? 'info')](extra, message);
      };
  } else {
    options.logLevel = logLevel.NOTHING;
  }
  return new CheckedKafka(options, kafka, tls);
}
