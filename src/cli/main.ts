/**
 * `amoskys`: the one command line of AMOSKYS. Each subcommand lives in ./commands and has --help.
 * Exit codes: 0 ok, 1 failure (a component down, a failed operation), 2 invalid configuration or usage.
 */
import { Command, CommanderError, Option } from 'commander';
import { AmoskysError, ConfigError } from '../core/errors/index.ts';
import { analyzeCommand } from './commands/analyze.ts';
import { clickhouseCommand } from './commands/clickhouse.ts';
import { configCommand } from './commands/config.ts';
import { demoCommand } from './commands/demo.ts';
import { importCommand } from './commands/import.ts';
import { inspectCommand } from './commands/inspect.ts';
import { keysCommand } from './commands/keys.ts';
import { processorCommand } from './commands/processor.ts';
import { producerCommand } from './commands/producer.ts';
import { schemasCommand } from './commands/schemas.ts';
import { simulateCommand } from './commands/simulate.ts';
import { sinkCommand } from './commands/sink.ts';
import { stackCommand } from './commands/stack.ts';
import { timelineCommand } from './commands/timeline.ts';
import { topicsCommand } from './commands/topics.ts';

const program = new Command('amoskys')
  .description(
    'AMOSKYS: SNMP telemetry, signed and schema-registered, through Kafka into ClickHouse.\n' +
      'Configuration comes from a YAML file (--config, $AMOSKYS_CONFIG or ./amoskys.yaml) and AMOSKYS_* variables.',
  )
  .option('-c, --config <file>', 'configuration file (YAML or JSON)')
  .addOption(
    new Option('--log-level <level>', 'log level').choices([
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
  )
  .addHelpText(
    'after',
    '\nExamples:\n  amoskys demo                 run the pipeline end to end\n  amoskys stack status --json  health of the local services\n  amoskys config print         effective configuration, secrets redacted',
  );

program.addCommand(demoCommand());
program.addCommand(stackCommand());
program.addCommand(configCommand());
program.addCommand(topicsCommand());
program.addCommand(schemasCommand());
program.addCommand(simulateCommand());
program.addCommand(keysCommand());
program.addCommand(producerCommand());
program.addCommand(processorCommand());
program.addCommand(sinkCommand());
program.addCommand(clickhouseCommand());
program.addCommand(inspectCommand());
program.addCommand(importCommand());
program.addCommand(timelineCommand());
program.addCommand(analyzeCommand());

// addCommand() does not pass these settings down the way command() does; every level needs them
// so usage errors reach the handler below (exit 2) instead of exiting inside commander.
const configureTree = (command: Command): void => {
  command.exitOverride().showHelpAfterError('(add --help for usage)');
  for (const sub of command.commands) configureTree(sub);
};
configureTree(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are "errors" in commander's exitOverride mode; they exit 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`amoskys: ${err.message}\n`);
    process.exitCode = 2;
  } else if (err instanceof AmoskysError) {
    process.stderr.write(`amoskys: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(
      `amoskys: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
