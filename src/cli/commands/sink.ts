import { Command, Option } from 'commander';
import { createClickHouse } from '../../core/clickhouse/index.ts';
import { trustStoreFile } from '../../core/config/index.ts';
import { TrustStoreWatcher } from '../../core/crypto/index.ts';
import { KeyFileError } from '../../core/errors/index.ts';
import { createKafka } from '../../core/kafka/index.ts';
import { createMetricsRegistry, startMetricsServer } from '../../core/metrics/index.ts';
import { startSink } from '../../sinks/clickhouse/index.ts';
import { contextFor } from '../context.ts';
import { untilStopped } from '../lifecycle.ts';

/** `amoskys sink`: the ClickHouse sink stage. */
export function sinkCommand(): Command {
  const sink = new Command('sink').description(
    'The ClickHouse sink: raw envelopes, metrics, feature rows and dead letters into ClickHouse',
  );
  sink
    .command('run')
    .description(
      'Consume the raw, features and DLQ topics as a member of the sink group until interrupted (or\n' +
        '--duration) and insert their rows into ClickHouse (raw_envelopes, metrics, features, dlq).\n' +
        'Offsets are committed only after ClickHouse acknowledged; while ClickHouse is down the sink\n' +
        'pauses and retries, and resumes by itself. Raw envelopes are archived only when their\n' +
        'signature verifies under the trust store (the same file as the processor). Run the\n' +
        'migrations first: amoskys clickhouse migrate.',
    )
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(Number))
    .addHelpText(
      'after',
      '\nExamples:\n  amoskys sink run                    run until Ctrl-C; progress every 10 s on stderr\n' +
        '  AMOSKYS_SINK_BATCH_ROWS=20000 amoskys sink run --duration 60',
    )
    .action(async function (this: Command, opts: { duration?: number }) {
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      const trust = new TrustStoreWatcher({ file: trustStoreFile(config), logger });
      const snapshot = trust.start();
      if (Object.keys(snapshot.keys).length === 0) {
        trust.close();
        throw new KeyFileError(
          `the trust store ${trust.file} holds no keys: the sink could not verify any envelope (add keys with amoskys keys add)`,
          { file: trust.file },
        );
      }
      const metrics = createMetricsRegistry('sink');
      const clickhouse = createClickHouse(config);
      const stage = await startSink({
        config,
        kafka: createKafka(config, 'sink', logger),
        clickhouse,
        trust: () => trust.snapshot,
        logger,
        metrics,
        onAssigned: (partitions) =>
          process.stderr.write(`[sink] partitions assigned: ${partitions.length}\n`),
      });
      const server = await startMetricsServer(metrics, {
        host: config.metrics.host,
        port: config.metrics.port,
        health: () => {
          const s = stage.stats();
          return { healthy: !s.paused, details: { ...s } };
        },
      });
      process.stderr.write(
        `[sink] ${config.topics.raw}, ${config.topics.features}, ${config.topics.dlq} -> ClickHouse ${config.clickhouse.database} as ${config.sink.groupId}; metrics on http://${config.metrics.host}:${server.port}/metrics\n`,
      );
      const progress = setInterval(() => {
        const s = stage.stats();
        process.stderr.write(
          `[sink] messages raw ${s.messages.raw}, features ${s.messages.features}, dlq ${s.messages.dlq}; rows ${Object.entries(
            s.rows,
          )
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')}${s.paused ? '; PAUSED: ClickHouse does not accept inserts' : ''}\n`,
        );
      }, 10_000);
      await untilStopped(opts.duration);
      clearInterval(progress);
      await stage.close();
      trust.close();
      await clickhouse.close();
      await server.close();
      process.stdout.write(`${JSON.stringify(stage.stats())}\n`);
    });
  return sink;
}
