import { Command } from 'commander';
import { stringify } from 'yaml';
import { envVars, redactConfig } from '../../core/config/index.ts';
import { contextFor } from '../context.ts';
import { formatTable, printJson } from '../output.ts';

export function configCommand(): Command {
  const config = new Command('config').description(
    'Show and check the configuration (file + AMOSKYS_* environment)',
  );

  config
    .command('print')
    .description('Print the effective configuration with secrets redacted; fails on invalid configuration')
    .option('--json', 'print JSON instead of YAML')
    .option('--sources', 'also print where each non-default value came from')
    .action(function (this: Command, opts: { json?: boolean; sources?: boolean }) {
      const { loaded } = contextFor(this);
      const redacted = redactConfig(loaded.config);
      if (opts.json) {
        printJson(
          opts.sources ? { config: redacted, sources: Object.fromEntries(loaded.sources) } : redacted,
        );
        return;
      }
      process.stdout.write(stringify(redacted));
      if (opts.sources) {
        process.stdout.write(`\n# sources (file: ${loaded.file ?? 'none'})\n`);
        for (const [path, source] of loaded.sources) process.stdout.write(`# ${path}: ${source}\n`);
      }
    });

  config
    .command('env')
    .description(
      'List every AMOSKYS_* environment variable, the setting it controls, and whether it is secret',
    )
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        printJson(envVars);
        return;
      }
      const rows = Object.entries(envVars).map(([name, v]) => [
        name,
        v.path,
        v.secret ? 'secret' : '',
        v.description,
      ]);
      process.stdout.write(`${formatTable(['VARIABLE', 'SETTING', '', 'DESCRIPTION'], rows)}\n`);
    });

  return config;
}
