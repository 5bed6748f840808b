import path from 'node:path';
import { Command } from 'commander';
import { repoRoot } from '../../core/config/index.ts';
import { applyTopicSchemas, isFailedOutcome, type TopicApplyOutcome } from '../../core/registry/index.ts';
import { contextFor } from '../context.ts';
import { formatTable, printJson } from '../output.ts';

function describe(outcome: TopicApplyOutcome): { result: string; compatibility: string } {
  const change = 'compatibilityChange' in outcome ? outcome.compatibilityChange : undefined;
  const compatibility =
    change === undefined ? '' : `${change.to} (was ${change.from ?? 'unset: the global level'})`;
  switch (outcome.status) {
    case 'registered':
      return { result: `registered version ${outcome.version}, id ${outcome.id}`, compatibility };
    case 'unchanged':
      return { result: `unchanged: version ${outcome.version}, id ${outcome.id}`, compatibility };
    case 'would_register':
      return { result: 'would register a new version (dry run)', compatibility };
    case 'incompatible':
      return { result: 'REJECTED: incompatible', compatibility };
    case 'invalid':
      return { result: 'REJECTED: invalid schema', compatibility };
    case 'skipped':
      return { result: `skipped: ${outcome.message}`, compatibility };
  }
}

export function schemasCommand(): Command {
  const schemas = new Command('schemas').description(
    'Value schemas of the topics in the Schema Registry (subject <topic>-value, protobuf)',
  );

  schemas
    .command('apply')
    .description(
      'For each topic file with a value subject: set the subject compatibility and register its ' +
        'valueSchema (.proto) unless already registered. Idempotent. Exits 1 when the registry ' +
        'rejects a schema (e.g. a breaking change under BACKWARD_TRANSITIVE), naming the subject ' +
        "and quoting the registry's message.",
    )
    .option('--dry-run', 'change nothing: report what would change and check compatibility')
    .option(
      '--topics-dir <dir>',
      'folder of topic files (default: topics/ of the installation); schema paths are relative to its parent',
    )
    .option('--json', 'print JSON')
    .action(async function (this: Command, opts: { dryRun?: boolean; topicsDir?: string; json?: boolean }) {
      const { loaded } = contextFor(this);
      const topicsDir =
        opts.topicsDir === undefined ? path.join(repoRoot, 'topics') : path.resolve(opts.topicsDir);
      const outcomes = await applyTopicSchemas(loaded.config, topicsDir, { dryRun: opts.dryRun === true });
      const failed = outcomes.filter(isFailedOutcome);
      if (opts.json) {
        printJson(outcomes);
      } else {
        const rows = outcomes.map((o) => {
          const { result, compatibility } = describe(o);
          const message =
            o.valueMessage === undefined ? '' : `${o.valueMessage.name} [${o.valueMessage.indexes}]`;
          return [o.subject, result, compatibility, message];
        });
        process.stdout.write(
          `${formatTable(['SUBJECT', 'RESULT', 'COMPATIBILITY SET', 'MESSAGE [INDEXES]'], rows)}\n`,
        );
      }
      for (const o of failed) {
        if (o.status === 'incompatible' || o.status === 'invalid') {
          process.stderr.write(
            `amoskys: the registry rejected the schema of subject ${o.subject} (${o.status}): ${o.message}\n`,
          );
        }
      }
      if (failed.length > 0) process.exitCode = 1;
    });

  return schemas;
}
