import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default 'info' */
  level?: string;
  /** Where JSON lines go. @default stderr, so that stdout stays for command output */
  destination?: NodeJS.WritableStream;
}

/**
 * Keys whose values never reach a log line, wherever they appear in a logged object. Payloads are
 * not logged either: callers log sizes and counts, not message bodies.
 */
const redactedKeys = [
  'password',
  '*.password',
  '*.*.password',
  'authPass',
  '*.authPass',
  '*.*.authPass',
  'privPass',
  '*.privPass',
  '*.*.privPass',
  'community',
  '*.community',
  'sasl',
  '*.sasl',
  'headers.authorization',
];

/** The root pino logger; components take `logger.child({ component, topic })`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'amoskys' },
      redact: { paths: redactedKeys, censor: '***' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? process.stderr,
  );
}
