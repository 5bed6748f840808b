import {
  type ClickHouseClient,
  type Logger as ClickHouseLogger,
  ClickHouseLogLevel,
  createClient,
  type ErrorLogParams,
  type LogParams,
  type WarnLogParams,
} from '@clickhouse/client';
import type { Config } from '../config/index.ts';
import { createLogger, type Logger } from '../logging/index.ts';

/** Options of {@link createClickHouse}. */
export interface ClickHouseOptions {
  /** Database to use; `null` for none (to create databases). @default config.clickhouse.database */
  database?: string | null;
  /** Where the client's own log lines go. @default a pino logger at `config.logLevel` on stderr */
  logger?: Logger;
}

/**
 * The client's log lines through pino (child `{ component: 'clickhouse', lib: '@clickhouse/client' }`),
 * so they are JSON, filtered by our level and redacted like ours. The client logs every failed
 * request, stack included, before rejecting it; the rejection reaches our code, which reports it
 * once and in words, so those lines go to debug, as do its info lines.
 */
function clickhouseLoggerClass(logger: Logger): new () => ClickHouseLogger {
  const child = logger.child({ component: 'clickhouse', lib: '@clickhouse/client' });
  const line = (params: LogParams) => ({ module: params.module, ...(params.args ?? {}) });
  return class {
    trace(params: LogParams) {
      child.trace(line(params), params.message);
    }
    debug(params: LogParams) {
      child.debug(line(params), params.message);
    }
    info(params: LogParams) {
      // Its info lines are about itself ("Log level is set to ...", once per client).
      child.debug(line(params), params.message);
    }
    warn(params: WarnLogParams) {
      child.warn(
        { ...line(params), ...(params.err === undefined ? {} : { err: params.err }) },
        params.message,
      );
    }
    error(params: ErrorLogParams) {
      child.debug({ ...line(params), err: params.err }, params.message);
    }
  };
}

function clickhouseLevel(logger: Logger): ClickHouseLogLevel {
  if (logger.isLevelEnabled('trace')) return ClickHouseLogLevel.TRACE;
  if (logger.isLevelEnabled('debug')) return ClickHouseLogLevel.DEBUG;
  return ClickHouseLogLevel.WARN;
}

/**
 * A @clickhouse/client for the configured server. Works against ClickHouse 18.16 (the local
 * server) as well as current releases: it sends only settings both understand.
 */
export function createClickHouse(config: Config, options: ClickHouseOptions = {}): ClickHouseClient {
  const database = options.database === undefined ? config.clickhouse.database : options.database;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  return createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    ...(database === null ? {} : { database }),
    request_timeout: 60_000,
    application: 'amoskys',
    log: { LoggerClass: clickhouseLoggerClass(logger), level: clickhouseLevel(logger) },
  });
}
