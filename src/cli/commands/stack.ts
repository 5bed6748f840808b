import { Argument, Command, Option } from 'commander';
import type { Config } from '../../core/config/index.ts';
import {
  type ComponentName,
  componentNames,
  runScript,
  stackDown,
  stackStatus,
  stackUp,
} from '../../core/stack/index.ts';
import { contextFor } from '../context.ts';
import { formatTable, printJson } from '../output.ts';

const componentsArg = () =>
  new Argument('[components...]', `components (default: all of ${componentNames.join(', ')})`).choices(
    componentNames,
  );

/** Prints the status table (or JSON); returns whether every component is healthy. */
export async function printStatus(
  config: Config,
  names: readonly ComponentName[],
  json: boolean,
): Promise<boolean> {
  const statuses = await stackStatus(config, names);
  if (json) {
    printJson(statuses);
  } else {
    const rows = statuses.map((s) => [s.name, s.healthy ? 'up' : 'DOWN', s.endpoint, s.version, s.detail]);
    process.stdout.write(`${formatTable(['COMPONENT', 'HEALTH', 'ENDPOINT', 'VERSION', 'DETAIL'], rows)}\n`);
  }
  return statuses.every((s) => s.healthy);
}

const pick = (names: ComponentName[]): readonly ComponentName[] =>
  names.length > 0 ? names : componentNames;

export function stackCommand(): Command {
  const stack = new Command('stack').description(
    'Run the real services natively on loopback: Kafka (KRaft), Apicurio Registry, ClickHouse, snmpd.\n' +
      'State, downloads and logs live under the state folder (config stateDir, default .amoskys/).',
  );

  stack
    .command('up')
    .description('Install or download what is missing, start the components, wait until each answers')
    .addArgument(componentsArg())
    .option('--json', 'print the final status as JSON')
    .action(async function (this: Command, names: ComponentName[], opts: { json?: boolean }) {
      const { loaded } = contextFor(this);
      const started = Date.now();
      await stackUp(loaded.config, pick(names));
      process.stderr.write(`[stack] up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
      if (!(await printStatus(loaded.config, pick(names), opts.json === true))) process.exitCode = 1;
    });

  stack
    .command('down')
    .description('Stop the processes that `up` started (by recorded pid); state and downloads are kept')
    .addArgument(componentsArg())
    .action(async function (this: Command, names: ComponentName[]) {
      const { loaded } = contextFor(this);
      await stackDown(loaded.config, pick(names));
    });

  stack
    .command('status')
    .description("Print each component's endpoint, version and health; exits 1 when one is down")
    .addArgument(componentsArg())
    .option('--json', 'print JSON')
    .action(async function (this: Command, names: ComponentName[], opts: { json?: boolean }) {
      const { loaded } = contextFor(this);
      if (!(await printStatus(loaded.config, pick(names), opts.json === true))) process.exitCode = 1;
    });

  stack
    .command('logs')
    .description("Show a component's log (under <stateDir>/logs)")
    .addArgument(new Argument('<component>').choices(componentNames))
    .addOption(new Option('-f, --follow', 'keep printing new lines'))
    .action(async function (this: Command, name: ComponentName, opts: { follow?: boolean }) {
      const { loaded } = contextFor(this);
      const { code } = await runScript(loaded.config, name, 'logs', opts.follow ? ['-f'] : []);
      process.exitCode = code;
    });

  return stack;
}
