import { Command, Option } from 'commander';
import { createKafka } from '../../core/kafka/index.ts';
import { createMetricsRegistry, startMetricsServer } from '../../core/metrics/index.ts';
import { createProcessorLogic, startProcessor } from '../../processors/telemetry/index.ts';
import { contextFor } from '../context.ts';
import { untilStopped } from '../lifecycle.ts';

export function processorCommand(): Command {
  const processor = new Command('processor').description(
    'The telemetry processor: verifies, deduplicates and flattens raw envelopes into feature rows',
  );
  processor
    .command('run')
    .description(
      'Consume the raw topic as a member of the processor group until interrupted (or --duration):\n' +
        'verify signatures against the trust store, reject stale, future and replayed envelopes,\n' +
        'deduplicate on idempotency keys, produce feature rows, dead-letter every reject with a reason.\n' +
        'Run more instances to scale out; partitions are shared among them.',
    )
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(Number))
    .action(async function (this: Command, opts: { duration?: number }) {
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      const metrics = createMetricsRegistry('processor');
      const logic = await createProcessorLogic({ config, logger, metrics });
      const stage = await startProcessor({
        config,
        kafka: createKafka(config, 'processor', logger),
        logic: logic.logic,
        logger,
        metrics,
        onAssigned: (partitions) =>
          process.stderr.write(`[processor] partitions assigned: ${partitions.join(',')}\n`),
      });
      const server = await startMetricsServer(metrics, {
        host: config.metrics.host,
        port: config.metrics.port,
        health: () => ({ healthy: true, details: { ...stage.stats() } }),
      });
      process.stderr.write(
        `[processor] consuming ${config.topics.raw} as ${config.processor.groupId}; metrics on http://${config.metrics.host}:${server.port}/metrics\n`,
      );
      const progress = setInterval(() => {
        const s = stage.stats();
        process.stderr.write(
          `[processor] in ${s.in} = accepted ${s.accepted} + rejected ${s.rejected} + duplicates ${s.duplicates}; partitions ${s.partitions.join(',')}\n`,
        );
      }, 10_000);
      await untilStopped(opts.duration);
      clearInterval(progress);
      await stage.close();
      await logic.close();
      await server.close();
      process.stdout.write(`${JSON.stringify(stage.stats())}\n`);
    });
  return processor;
}
