import { Command } from 'commander';
import { createKafka } from '../../core/kafka/index.ts';
import {
  applyTopicChanges,
  describeChange,
  planTopicChanges,
  readBrokerTopics,
  resolveTopics,
} from '../../core/topics/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';

export function topicsCommand(): Command {
  const topics = new Command('topics').description(
    'Kafka topics as code: make the broker match topics/*.yaml',
  );

  topics
    .command('apply')
    .description(
      'Create missing topics, add partitions and update settings so the broker matches topics/.\n' +
        'Prints the plan first; a second run changes nothing. Never removes partitions or topics.',
    )
    .option('--dry-run', 'print the plan and change nothing')
    .option('--json', 'print the plan as JSON')
    .action(async function (this: Command, opts: { dryRun?: boolean; json?: boolean }) {
      const { loaded, logger } = contextFor(this);
      const resolved = resolveTopics(loaded.config);
      const admin = createKafka(loaded.config, 'topics', logger).admin();
      await admin.connect();
      try {
        const plan = planTopicChanges(
          resolved,
          await readBrokerTopics(
            admin,
            resolved.map((t) => t.name),
          ),
        );
        if (opts.json) printJson(plan);
        else if (plan.length === 0) process.stdout.write('topics are up to date\n');
        else process.stdout.write(`${plan.map(describeChange).join('\n')}\n`);
        if (plan.some((c) => c.kind === 'error')) {
          process.stderr.write('amoskys: the plan has errors (lines starting with !); nothing was changed\n');
          process.exitCode = 1;
          return;
        }
        if (opts.dryRun || plan.length === 0) return;
        await applyTopicChanges(admin, resolved, plan);
        process.stderr.write(`[topics] applied ${plan.length} change(s)\n`);
      } finally {
        await admin.disconnect();
      }
    });

  return topics;
}
