/**
 * What a failed kafkajs connect means, in words a person can act on. kafkajs nests the cause of a
 * failed connect (a retrier's "number of retries exceeded" around a connection error, a SASL error
 * thrown as is) and never names the setting to fix.
 */
import type { Config } from '../config/index.ts';
import { KafkaConnectionError } from '../errors/index.ts';

interface KafkaJsErrorLike extends Error {
  retriable?: boolean;
  originalError?: unknown;
  broker?: string;
  code?: string;
}

function isKafkaJsError(value: unknown): value is KafkaJsErrorLike {
  return value instanceof Error && value.name.startsWith('KafkaJS');
}

/** The error and everything it wraps, outermost first. */
function chain(err: unknown): KafkaJsErrorLike[] {
  const out: KafkaJsErrorLike[] = [];
  let current: unknown = err;
  while (isKafkaJsError(current) && out.length < 8) {
    out.push(current);
    current = current.originalError ?? current.cause;
  }
  return out;
}

/**
 * Turns an error of a kafkajs `connect()` into a {@link KafkaConnectionError} that names the
 * brokers, the SASL mechanism and user (never the password) and the settings to check. Anything
 * that is not a kafkajs error (a programmer error) is returned unchanged.
 */
export function explainKafkaConnectError(err: unknown, kafka: Config['kafka']): unknown {
  const errors = chain(err);
  if (errors.length === 0) return err;
  const brokers = kafka.brokers.join(', ');
  const context = { brokers: kafka.brokers };

  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError');
  if (sasl !== undefined) {
    const who =
      kafka.sasl === undefined
        ? 'no SASL configured'
        : `mechanism ${kafka.sasl.mechanism.toUpperCase()}, user ${JSON.stringify(kafka.sasl.username)}`;
    return new KafkaConnectionError(
      `Kafka SASL authentication failed at ${brokers} (${who}): ${sasl.message}; check kafka.sasl.username and ` +
        'kafka.sasl.password (AMOSKYS_KAFKA_SASL_USERNAME, AMOSKYS_KAFKA_SASL_PASSWORD)',
      { retriable: false, context, cause: err },
    );
  }

  const connection = errors.find(
    (e) => e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSConnectionClosedError',
  );
  if (connection !== undefined) {
    // A SASL listener drops a client that sends requests before authenticating; a TLS listener
    // drops one that speaks plaintext. Neither says why, so say what to look at.
    const closed =
      connection.name === 'KafkaJSConnectionClosedError' ||
      /closed|disconnected before secure TLS/i.test(connection.message);
    const hint = closed
      ? `; the broker closed the connection: check that kafka.ssl (${kafka.ssl}) and kafka.sasl ` +
        `(${kafka.sasl === undefined ? 'none' : kafka.sasl.mechanism}) match its listener`
      : '';
    return new KafkaConnectionError(`cannot connect to Kafka at ${brokers}: ${connection.message}${hint}`, {
      retriable: true,
      context,
      cause: err,
    });
  }

  const first = errors[0] as KafkaJsErrorLike;
  return new KafkaConnectionError(`cannot connect to Kafka at ${brokers}: ${first.message}`, {
    retriable: first.retriable ?? false,
    context,
    cause: err,
  });
}
