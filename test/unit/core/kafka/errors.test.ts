import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { defaults } from '../../../../src/core/config/index.ts';
import { ErrorCode, KafkaConnectionError } from '../../../../src/core/errors/index.ts';
import { explainKafkaConnectError } from '../../../../src/core/kafka/index.ts';

/** kafkajs' type declarations leave out the constructor arguments its own code passes. */
type KafkaJsErrorClass = new (e: unknown, options?: Record<string, unknown>) => Error;
const {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSNonRetriableError,
  KafkaJSSASLAuthenticationError,
} = kafkajs as unknown as Record<
  | 'KafkaJSConnectionError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSSASLAuthenticationError',
  KafkaJsErrorClass
>;

const kafka = {
  ...defaults.kafka,
  brokers: ['kafka-1:9093', 'kafka-2:9093'],
  ssl: true,
  sasl: { mechanism: 'scram-sha-512' as const, username: 'amoskys', password: 'do-not-print-me' },
};

function explained(err: unknown): KafkaConnectionError {
  const out = explainKafkaConnectError(err, kafka);
  if (!(out instanceof KafkaConnectionError)) throw new Error(`not explained: ${String(out)}`);
  return out;
}

describe('explainKafkaConnectError', () => {
  it('names SASL authentication, the brokers, the mechanism and the user, never the password', () => {
    const cause = new KafkaJSSASLAuthenticationError(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    );
    const err = explained(cause);
    expect(err.code).toBe(ErrorCode.KafkaConnection);
    expect(err.retriable).toBe(false);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe(
      'Kafka SASL authentication failed at kafka-1:9093, kafka-2:9093 (mechanism SCRAM-SHA-512, user "amoskys"): ' +
        'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid ' +
        'credentials with SASL mechanism SCRAM-SHA-512; check kafka.sasl.username and kafka.sasl.password ' +
        '(AMOSKYS_KAFKA_SASL_USERNAME, AMOSKYS_KAFKA_SASL_PASSWORD)',
    );
    expect(err.message).not.toContain('do-not-print-me');
  });

  it('finds a SASL failure wrapped the way the kafkajs retrier wraps it', () => {
    const sasl = new KafkaJSSASLAuthenticationError('SASL PLAIN authentication failed: bad');
    expect(explained(new KafkaJSNonRetriableError(sasl, { cause: sasl })).message).toMatch(
      /^Kafka SASL authentication failed/,
    );
    expect(
      explained(new KafkaJSNumberOfRetriesExceeded(sasl, { retryCount: 3, retryTime: 10 })).retriable,
    ).toBe(false);
  });

  it('says that no broker could be reached, retriable, after the retries ran out', () => {
    const connection = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.0.0.1:9093', {
      broker: 'kafka-1:9093',
    });
    const err = explained(
      new KafkaJSNumberOfRetriesExceeded(connection, { retryCount: 8, retryTime: 10_000 }),
    );
    expect(err.retriable).toBe(true);
    expect(err.message).toBe(
      'cannot connect to Kafka at kafka-1:9093, kafka-2:9093: Connection error: connect ECONNREFUSED 10.0.0.1:9093',
    );
  });

  it('points at kafka.ssl and kafka.sasl when the broker closes the connection', () => {
    const closed = new KafkaJSConnectionError(
      'Connection error: Client network socket disconnected before secure TLS connection was established',
    );
    expect(explained(closed).message).toMatch(
      /the broker closed the connection: check that kafka\.ssl \(true\) and kafka\.sasl \(scram-sha-512\) match its listener$/,
    );
  });

  it('leaves errors that are not from kafkajs alone', () => {
    const bug = new TypeError('x is not a function');
    expect(explainKafkaConnectError(bug, kafka)).toBe(bug);
  });
});
