import type { Command } from 'commander';
import { type LoadedConfig, loadConfig } from '../core/config/index.ts';
import { createLogger, type Logger } from '../core/logging/index.ts';

/** Global options every subcommand inherits. */
export interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

/** What a command needs: the validated configuration and a logger. Loaded on first use. */
export interface CliContext {
  loaded: LoadedConfig;
  logger: Logger;
}

/**
 * Loads configuration for a command. Invalid configuration throws ConfigError, which main.ts
 * turns into a non-zero exit that names each failing path and value before anything starts.
 */
export function contextFor(command: Command): CliContext {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const loaded = loadConfig({
    file: opts.config,
    overrides:
      opts.logLevel === undefined ? {} : { logLevel: opts.logLevel as LoadedConfig['config']['logLevel'] },
  });
  const logger = createLogger({ level: loaded.config.logLevel });
  for (const warning of loaded.warnings) logger.warn(warning);
  return { loaded, logger };
}
