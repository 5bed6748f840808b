import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { Logger } from '../logging/index.ts';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client for one component, from the configuration. kafkajs logs go through pino
 * (child `{ component, lib: 'kafkajs' }`) instead of its own console logger.
 */
export function createKafka(config: Config, component: string, logger?: Logger): Kafka {
  const { kafka } = config;
  const options: KafkaConfig = {
    clientId: `${kafka.clientId}-${component}`,
    brokers: kafka.brokers,
    ssl: kafka.ssl,
    connectionTimeout: 10_000,
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
  return new Kafka(options);
}
