/**
 * `amoskys analyze`: does everything produced reach the analyst? Reconciles the raw topic against
 * ClickHouse, checks bytes collected against bytes stored, reports metric completeness and the
 * metric names stored. Exit codes for CI and cron: 0 reconciled and no alarm, 1 loss or an alarm,
 * 2 the analysis could not run (usage, configuration, a service that does not answer).
 */
import { Command, CommanderError, Option } from 'commander';
import { createClickHouse } from '../../core/clickhouse/index.ts';
import { createKafka } from '../../core/kafka/index.ts';
import {
  COMPLETENESS_FEATURES,
  DEFAULT_MIN_STORED_RATIO,
  renderAnalyzeText,
  runAnalyze,
} from '../../tools/analyze/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';
import { addWindowOptions, finiteNumber, type WindowCliOptions, windowOf } from './timeline.ts';

interface AnalyzeOptions extends WindowCliOptions {
  device?: string;
  minStoredRatio: number;
  samples: number;
  json?: boolean;
}

export function analyzeCommand(): Command {
  const command = new Command('analyze').description(
    'Check that everything produced reached the analyst. Reads every message of the raw topic in the ' +
      'window and gives each one a fate: stored (its key in features and raw_envelopes), rejected (a ' +
      'dead letter names it), duplicate (its key stored from an earlier message), or partial/missing ' +
      '(loss). Then, per stored envelope, bytes collected (SNMP) vs stored (envelope + metric rows); ' +
      'metric completeness per device; the metric names stored.\n\n' +
      'Exit codes: 0 produced = stored + rejected + duplicates and no alarm; 1 loss or an alarm; ' +
      '2 the analysis could not run (usage, configuration, Kafka or ClickHouse not answering). ' +
      'The window selects messages by the slot in their idempotency key; end it a few minutes back ' +
      '(--until) so envelopes still in the pipeline are not counted as missing.',
  );
  command.summary('Reconcile the raw topic with ClickHouse; bytes, completeness; exit 1 on loss (CI, cron)');
  addWindowOptions(command, 'default: the whole topic')
    .option('--device <id>', 'one device only')
    .addOption(
      new Option(
        '--min-stored-ratio <ratio>',
        'alarm when stored bytes / collected bytes of an envelope is below this',
      )
        .default(DEFAULT_MIN_STORED_RATIO)
        .argParser(finiteNumber('--min-stored-ratio', 0)),
    )
    .addOption(
      new Option('--samples <n>', 'lost messages, alarms and keys listed in the report')
        .default(20)
        .argParser(finiteNumber('--samples', 0, 100_000)),
    )
    .option('--json', 'print the report as JSON (exit code as without)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  amoskys analyze                                   the whole raw topic\n' +
        '  amoskys analyze --hours 24 --until "$(date -u -d "-5 min" +%FT%TZ)"   daily, from cron\n' +
        '  amoskys analyze --device router-1 --json | jq .reconciliation',
    )
    .action(async function (this: Command, opts: AnalyzeOptions) {
      const window = windowOf(this, opts);
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      const quiet = logger.child({});
      // kafkajs logs every retry as an error; the command says what failed, once, at the end.
      quiet.level = 'fatal';
      const clickhouse = createClickHouse(config);
      const started = Date.now();
      try {
        const report = await runAnalyze({
          config,
          kafka: createKafka(config, 'analyze', quiet),
          clickhouse,
          window,
          deviceId: opts.device,
          minStoredRatio: opts.minStoredRatio,
          sampleSize: Math.floor(opts.samples),
          onProgress: (read, total) =>
            process.stderr.write(
              `[analyze] ${config.topics.raw}: read ${read} of ${total} messages (${total === 0 ? 100 : Math.floor((read / total) * 100)}%)\n`,
            ),
        });
        process.stderr.write(`[analyze] done in ${Date.now() - started} ms\n`);
        if (opts.json) printJson(report);
        else process.stdout.write(renderAnalyzeText(report, COMPLETENESS_FEATURES.length));
        process.exitCode = report.exitCode;
      } catch (err) {
        if (err instanceof CommanderError) throw err;
        // 1 means "data lost or alarmed" to a cron job; an analysis that could not run is not that.
        process.stderr.write(`amoskys analyze: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 2;
      } finally {
        await clickhouse.close();
      }
    });
  return command;
}
