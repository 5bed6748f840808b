/**
 * The one error base of AMOSKYS. Every error has a code from a closed list and says whether
 * retrying the same operation can succeed, so retry loops never guess from message text.
 */

/** Codes an {@link AmoskysError} may carry. */
export const ErrorCode = {
  /** Configuration failed validation; never retriable, the process stops at start. */
  ConfigInvalid: 'CONFIG_INVALID',
  /** A configuration file could not be read or parsed. */
  ConfigUnreadable: 'CONFIG_UNREADABLE',
  /** A local stack component failed to start, stop or answer. */
  StackFailed: 'STACK_FAILED',
  /** A wait on a condition exceeded its deadline. */
  Timeout: 'TIMEOUT',
  /** A simulated SNMP agent could not start (e.g. its UDP port is taken). */
  SimulatorFailed: 'SIMULATOR_FAILED',
  /** An Ed25519 key file or trust-store file is missing, unreadable, invalid, or would be overwritten. */
  KeyFile: 'KEY_FILE',
  /** The Schema Registry did not answer, or answered with an unexpected status. */
  Registry: 'REGISTRY',
  /** A topic file or the schema file it names is invalid. */
  SchemaFile: 'SCHEMA_FILE',
  /** A ClickHouse migration cannot be applied: changed after it was applied, or a statement failed. */
  ClickHouseSchema: 'CLICKHOUSE_SCHEMA',
  /** A file, topic, table or value named on the command line cannot be used as input (a tool's input). */
  Input: 'INPUT',
  /** A Kafka client could not connect: no broker answered, SASL authentication or TLS verification failed. */
  KafkaConnection: 'KAFKA_CONNECTION',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options every {@link AmoskysError} takes. */
export interface AmoskysErrorOptions {
  /** Whether the same operation may succeed if tried again. */
  retriable: boolean;
  /** The error this one wraps. */
  cause?: unknown;
  /** Where it happened: topic, partition, offset, table, device, config path... Never secrets. */
  context?: Record<string, unknown>;
}

/** Base class of every error AMOSKYS throws on purpose. */
export class AmoskysError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AmoskysErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable;
    this.context = options.context ?? {};
  }
}

/** One configuration value that failed validation. */
export interface ConfigIssue {
  /** Dotted path in the configuration, e.g. `kafka.brokers.0`. */
  path: string;
  /** What was wrong, in words. */
  message: string;
  /** The offending value, already redacted when the path holds a secret. */
  value: unknown;
  /** Where the value came from: an environment variable name, the file, or the defaults. */
  source: string;
}

/** Invalid configuration: lists every failing path with its value and source. */
export class ConfigError extends AmoskysError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(
      (i) => `  - ${i.path || '(root)'}: ${i.message} (got ${JSON.stringify(i.value)} from ${i.source})`,
    );
    super(ErrorCode.ConfigInvalid, `invalid configuration:\n${lines.join('\n')}`, {
      retriable: false,
      context: { paths: issues.map((i) => i.path) },
    });
    this.issues = issues;
  }
}

/** A condition waited on did not hold before its deadline. */
export class TimeoutError extends AmoskysError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(ErrorCode.Timeout, message, { retriable: true, context });
  }
}

/** A key file or trust-store file problem. Never retriable: a person has to fix the file. */
export class KeyFileError extends AmoskysError {
  constructor(message: string, context: Record<string, unknown> = {}, cause?: unknown) {
    super(ErrorCode.KeyFile, message, {
      retriable: false,
      context,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * A failed Schema Registry request. Retriable when the registry could not be reached or answered
 * 5xx; a 4xx answer means the request itself is wrong and is not retried.
 */
export class RegistryError extends AmoskysError {
  /** HTTP status, when the registry answered. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: { status?: number; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    const retriable = options.status === undefined || options.status >= 500;
    super(ErrorCode.Registry, message, {
      retriable,
      context: options.context ?? {},
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.status = options.status;
  }
}

/** A topic file, or the schema file it points at, cannot be used. Never retriable. */
export class SchemaFileError extends AmoskysError {
  constructor(message: string, context: Record<string, unknown> = {}, cause?: unknown) {
    super(ErrorCode.SchemaFile, message, {
      retriable: false,
      context,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * A ClickHouse schema problem: an unparseable server version, an applied migration whose rendered
 * SQL changed, or a failed DDL statement. Retriable only when `retriable` says so (a server that
 * could not be reached); a changed migration needs a person.
 */
export class ClickHouseSchemaError extends AmoskysError {
  constructor(
    message: string,
    context: Record<string, unknown> = {},
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(ErrorCode.ClickHouseSchema, message, {
      retriable: options.retriable ?? false,
      context,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}

/**
 * A Kafka client could not connect. Retriable only when no broker answered; refused credentials
 * and an untrusted or misnamed certificate need a person, so retrying them only hides the cause.
 */
export class KafkaConnectionError extends AmoskysError {
  constructor(
    message: string,
    options: { retriable: boolean; context?: Record<string, unknown>; cause?: unknown },
  ) {
    super(ErrorCode.KafkaConnection, message, {
      retriable: options.retriable,
      context: options.context ?? {},
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}

/**
 * Input a tool was pointed at cannot be used: a missing file, a topic or partition that does not
 * exist, a table without the expected columns. Never retriable: the command line must change.
 */
export class InputError extends AmoskysError {
  constructor(message: string, context: Record<string, unknown> = {}, cause?: unknown) {
    super(ErrorCode.Input, message, {
      retriable: false,
      context,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
