import { Command } from 'commander';
import { migrations } from '../../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate } from '../../core/clickhouse/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';

/** `amoskys clickhouse`: the ClickHouse schema (migrations in schemas/clickhouse). */
export function clickhouseCommand(): Command {
  const clickhouse = new Command('clickhouse').description('ClickHouse tables and views of AMOSKYS');

  clickhouse
    .command('migrate')
    .description(
      'Create the database if missing and apply pending migrations from schemas/clickhouse, rendered\n' +
        'for the server version (18.16-compatible or modern). A second run applies nothing; an applied\n' +
        'migration that changed is refused.',
    )
    .option('--dry-run', 'print what would be applied and change nothing')
    .option('--json', 'print the result as JSON (with the rendered SQL)')
    .action(async function (this: Command, opts: { dryRun?: boolean; json?: boolean }) {
      const { loaded } = contextFor(this);
      const database = loaded.config.clickhouse.database;
      const client = createClickHouse(loaded.config, { database: null });
      try {
        const result = await migrate(client, { database, migrations, dryRun: opts.dryRun ?? false });
        if (opts.json) {
          printJson(result);
          return;
        }
        const verb = result.dryRun ? 'would apply' : 'applied';
        process.stdout.write(
          `ClickHouse ${result.serverVersion} (${result.variant}), database ${database}\n` +
            (result.applied.length === 0
              ? 'schema is up to date\n'
              : result.applied
                  .map(
                    (m) =>
                      `${verb} ${String(m.version).padStart(4, '0')}_${m.name} (${m.statements.length} statement(s))`,
                  )
                  .join('\n') + '\n'),
        );
      } finally {
        await client.close();
      }
    });

  return clickhouse;
}
