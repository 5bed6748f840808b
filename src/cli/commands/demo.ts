/**
 * `amoskys demo`: the README's first command. Brings the local stack up, applies topics, schemas
 * and ClickHouse migrations, makes a demo signing key, starts a simulated device fleet next to the
 * local snmpd, runs the producer, the processor and the sink for a bounded time with progress, and
 * ends with a summary read back from ClickHouse that reconciles: every envelope this run produced
 * is in the analyst views once, with all its metrics, and nothing was stored smaller than collected.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Command, Option } from 'commander';
import { migrations } from '../../../schemas/clickhouse/index.ts';
import { createClickHouse, migrate, sqlString } from '../../core/clickhouse/index.ts';
import { repoRoot, trustStoreFile } from '../../core/config/index.ts';
import {
  addTrustedKey,
  generateSigningKey,
  readKeyFile,
  signerFor,
  TrustStoreWatcher,
  writeKeyFile,
} from '../../core/crypto/index.ts';
import { createKafka } from '../../core/kafka/index.ts';
import { createMetricsRegistry } from '../../core/metrics/index.ts';
import { applyTopicSchemas, isFailedOutcome } from '../../core/registry/index.ts';
import { stackUp } from '../../core/stack/index.ts';
import {
  applyTopicChanges,
  describeChange,
  planTopicChanges,
  readBrokerTopics,
  resolveTopics,
} from '../../core/topics/index.ts';
import { createProcessorLogic, startProcessor } from '../../processors/telemetry/index.ts';
import { buildInventory, startProducer, startSimulator } from '../../producers/snmp/index.ts';
import { startSink } from '../../sinks/clickhouse/index.ts';
import { contextFor } from '../context.ts';
import { formatTable, printJson } from '../output.ts';
import { printStatus } from './stack.ts';

/** The demo key may sign for the local snmpd and up to this many simulated devices. */
const maxSimulated = 200;
const say = (text: string) => process.stderr.write(`[demo] ${text}\n`);

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'Run AMOSKYS end to end on this machine: local stack, topics, schemas, a demo key, snmpd plus\n' +
        'simulated devices polled by the producer, the processor verifying and flattening, the sink\n' +
        'storing into ClickHouse; then a summary read back from ClickHouse and an example analyst query.',
    )
    .addOption(
      new Option('--duration <seconds>', 'how long the producer polls').default(120).argParser(Number),
    )
    .addOption(
      new Option('--devices <n>', `simulated devices next to snmpd (0-${maxSimulated})`)
        .default(20)
        .argParser(Number),
    )
    .addOption(
      new Option('--interval <seconds>', 'poll interval of every device').default(10).argParser(Number),
    )
    .option('--json', 'print the summary as JSON')
    .action(async function (
      this: Command,
      opts: { duration: number; devices: number; interval: number; json?: boolean },
    ) {
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      const quiet = logger.child({});
      quiet.level = 'warn';

      say('starting the local stack (the first run downloads Kafka and the registry)');
      await stackUp(config);
      if (!(await printStatus(config, ['kafka', 'registry', 'clickhouse', 'snmpd'], false))) {
        process.exitCode = 1;
        return;
      }

      const kafka = createKafka(config, 'demo', quiet);
      const admin = kafka.admin();
      await admin.connect();
      const topics = resolveTopics(config);
      const plan = planTopicChanges(
        topics,
        await readBrokerTopics(
          admin,
          topics.map((t) => t.name),
        ),
      );
      for (const change of plan) say(`topics: ${describeChange(change)}`);
      await applyTopicChanges(admin, topics, plan);
      await admin.disconnect();
      const schemas = await applyTopicSchemas(config, path.join(repoRoot, 'topics'));
      const failed = schemas.filter(isFailedOutcome);
      if (failed.length > 0) throw new Error(`schemas rejected: ${JSON.stringify(failed)}`);
      say(`schemas: ${schemas.map((s) => `${s.subject} ${s.status}`).join(', ')}`);
      const database = config.clickhouse.database;
      const migrated = await migrate(createClickHouse(config, { database: null }), { database, migrations });
      say(
        `ClickHouse ${migrated.serverVersion}: ${migrated.applied.length === 0 ? 'schema up to date' : `applied ${migrated.applied.map((m) => m.name).join(', ')}`} in ${database}`,
      );

      const count = Math.max(0, Math.min(maxSimulated, opts.devices));
      const keysDir = path.join(config.stateDir, 'keys');
      const keyFile = path.join(keysDir, 'demo-producer.json');
      const trustStore = trustStoreFile(config);
      if (!existsSync(keyFile)) {
        const devices = [
          'local-snmpd',
          ...Array.from({ length: maxSimulated }, (_, i) => `sim-${String(i).padStart(4, '0')}`),
        ];
        const key = generateSigningKey({ keyId: 'demo-producer', devices });
        writeKeyFile(keyFile, key);
        addTrustedKey(trustStore, {
          keyId: key.keyId,
          publicKey: Buffer.from(key.publicKey).toString('base64'),
          devices,
          notBefore: new Date(Date.now() - 60_000).toISOString(),
        });
        say(`made the demo signing key ${keyFile} and trusted it in ${trustStore}`);
      }
      const { key } = readKeyFile(keyFile);

      const simulator =
        count > 0 ? await startSimulator({ count, community: config.snmp.community }) : undefined;
      // The fleet's inventory carries the interval in its `defaults`: keep them, add snmpd to it.
      const fleet = simulator?.inventory({ intervalSeconds: opts.interval }) ?? { devices: [] };
      const devices = buildInventory({
        ...fleet,
        devices: [
          {
            id: 'local-snmpd',
            address: config.snmp.host,
            port: config.snmp.port,
            version: 'v2c',
            community: config.snmp.community,
            intervalSeconds: opts.interval,
          },
          ...fleet.devices,
        ],
      }).devices;
      say(
        `polling ${devices.length} devices (snmpd + ${count} simulated) every ${opts.interval}s for ${opts.duration}s`,
      );

      const metrics = createMetricsRegistry('demo');
      const logic = await createProcessorLogic({
        config: { ...config, processor: { ...config.processor, trustStore } },
        logger: quiet,
        metrics,
      });
      const processor = await startProcessor({ config, kafka, logic: logic.logic, logger: quiet, metrics });
      const trust = new TrustStoreWatcher({ file: trustStore, logger: quiet });
      trust.start();
      const clickhouse = createClickHouse(config);
      const sink = await startSink({
        config,
        kafka,
        clickhouse,
        trust: () => trust.snapshot,
        logger: quiet,
        metrics,
      });
      // Slot starts of this run's polls are at or after this instant (a slot may start a little
      // before the producer did); the summary reads this run's envelopes back by it.
      const runStartS = Math.floor(Date.now() / 1000) - opts.interval;
      const producer = await startProducer({
        config,
        kafka,
        devices,
        signer: signerFor(key),
        logger: quiet,
        metrics,
      });

      const progress = setInterval(() => {
        const p = producer.stats();
        const s = processor.stats();
        const k = sink.stats();
        say(
          `produced ${p.envelopesProduced} envelopes (${p.bytesCollected} B collected) | processed ${s.in}: accepted ${s.accepted}, rejected ${s.rejected}, duplicates ${s.duplicates} | stored ${k.rows.raw_envelopes} envelopes, ${k.rows.metrics} metric rows${k.paused ? ' (PAUSED: ClickHouse does not accept inserts)' : ''}`,
        );
      }, 10_000);
      await new Promise((resolve) => setTimeout(resolve, opts.duration * 1000));
      await producer.close();
      const produced = producer.stats();
      // The processor and the sink started at the committed offsets of their groups, so they may
      // also see what an earlier, interrupted run left; wait until this run is stored.
      say('producer stopped; waiting for the processor and the sink to finish');
      const thisRun = `slot_start >= toDateTime(${runStartS}) AND device_id IN (${devices.map((d) => sqlString(d.id)).join(', ')})`;
      const deadline = Date.now() + 120_000;
      let view = await readRun(clickhouse, database, thisRun);
      const complete = (v: RunView) =>
        v.envelopes >= produced.envelopesProduced &&
        v.featureRows >= produced.envelopesProduced &&
        v.metricRows >= v.metricsInEnvelopes;
      while (!complete(view) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        view = await readRun(clickhouse, database, thisRun);
      }
      clearInterval(progress);
      await processor.close();
      await sink.close();
      await logic.close();
      trust.close();
      await simulator?.close();

      const exampleSql = `SELECT metric_name, oid, value_numeric, counter_value, value_string
FROM ${database}.v_metrics_latest
WHERE device_id = 'local-snmpd' AND metric_name IN ('sys_uptime', 'load_avg_1min', 'mem_avail_real', 'if_hc_in_octets')
ORDER BY metric_name, oid
LIMIT 8`;
      const example = await (await clickhouse.query({ query: exampleSql, format: 'JSONEachRow' })).json<
        Record<string, string | number | null>
      >();
      await clickhouse.close();

      const s = processor.stats();
      const summary = {
        devices: devices.length,
        envelopesProduced: produced.envelopesProduced,
        envelopesFailed: produced.envelopesFailed,
        bytesCollected: produced.bytesCollected,
        bytesProduced: produced.bytesProduced,
        processed: s.in,
        accepted: s.accepted,
        rejected: s.rejected,
        rejectedByReason: s.rejectedByReason,
        duplicates: s.duplicates,
        missedSlots: produced.scheduler.missedSlots,
        stored: view,
        sinkPausedAtEnd: sink.stats().paused,
        exampleQuery: { sql: exampleSql, rows: example },
        reconciles:
          s.in === s.accepted + s.rejected + s.duplicates &&
          view.envelopes === produced.envelopesProduced &&
          view.distinctKeys === view.envelopes &&
          view.featureRows === produced.envelopesProduced &&
          view.metricRows === view.metricsInEnvelopes &&
          view.bytesStored >= produced.bytesProduced,
      };
      if (opts.json) printJson(summary);
      else {
        const exampleTable = formatTable(
          ['metric_name', 'oid', 'value'],
          example.map((r) => [
            String(r.metric_name),
            String(r.oid),
            String(r.value_numeric ?? r.counter_value ?? r.value_string),
          ]),
        );
        process.stdout.write(
          [
            '',
            `devices polled        ${summary.devices}`,
            `envelopes produced    ${summary.envelopesProduced} (failed ${summary.envelopesFailed})`,
            `processed             ${summary.processed} = accepted ${summary.accepted} + rejected ${summary.rejected} + duplicates ${summary.duplicates}`,
            `rejects by reason     ${JSON.stringify(summary.rejectedByReason)}`,
            `poll slots missed     ${JSON.stringify(summary.missedSlots)}`,
            `stored (ClickHouse)   ${view.envelopes} envelopes, ${view.metricRows} metric rows, ${view.featureRows} feature rows in ${database}`,
            `bytes                 collected ${summary.bytesCollected} (SNMP) -> produced ${summary.bytesProduced} (signed envelopes) -> archived ${view.bytesStored}`,
            `reconciliation        ${summary.reconciles ? 'ok: every envelope of this run is stored once, with all its metrics' : 'FAILED'}`,
            '',
            'Example analyst query (latest values of the local snmpd):',
            exampleSql.replace(/^/gm, '  '),
            '',
            exampleTable.replace(/^/gm, '  '),
            '',
            `Query it yourself: clickhouse-client --port ${config.stack.clickhouseTcpPort} -d ${database} (docs/analysts.md).`,
            'Stop the stack with `bin/amoskys stack down`.',
            '',
          ].join('\n'),
        );
      }
      if (!summary.reconciles || summary.envelopesFailed > 0) process.exitCode = 1;
    });
}

/** This run's envelopes as the analyst views show them. */
interface RunView {
  envelopes: number;
  distinctKeys: number;
  metricRows: number;
  metricsInEnvelopes: number;
  featureRows: number;
  bytesStored: number;
}

async function readRun(client: ClickHouseClient, database: string, where: string): Promise<RunView> {
  const query = `SELECT
  (SELECT count() FROM ${database}.v_raw_envelopes WHERE ${where}) AS envelopes,
  (SELECT uniqExact(idempotency_key) FROM ${database}.v_raw_envelopes WHERE ${where}) AS distinct_keys,
  (SELECT sum(metric_count) FROM ${database}.v_raw_envelopes WHERE ${where}) AS metrics_in_envelopes,
  (SELECT sum(length(bytes)) FROM ${database}.v_raw_envelopes WHERE ${where}) AS bytes_stored,
  (SELECT count() FROM ${database}.v_metrics WHERE ${where.replace('slot_start', 'ts')}) AS metric_rows,
  (SELECT count() FROM ${database}.v_features WHERE ${where}) AS feature_rows`;
  const [row] = await (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, string>>();
  return {
    envelopes: Number(row?.envelopes ?? 0),
    distinctKeys: Number(row?.distinct_keys ?? 0),
    metricRows: Number(row?.metric_rows ?? 0),
    metricsInEnvelopes: Number(row?.metrics_in_envelopes ?? 0),
    featureRows: Number(row?.feature_rows ?? 0),
    bytesStored: Number(row?.bytes_stored ?? 0),
  };
}
