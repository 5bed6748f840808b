/**
 * `amoskys demo`: the README's first command. Brings the local stack up, applies topics and
 * schemas, makes a demo signing key, starts a simulated device fleet next to the local snmpd,
 * runs the producer and the processor for a bounded time with progress, and ends with a summary
 * that reconciles: envelopes produced = accepted + rejected + duplicates.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { repoRoot, trustStoreFile } from '../../core/config/index.ts';
import {
  addTrustedKey,
  generateSigningKey,
  readKeyFile,
  signerFor,
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
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';
import { printStatus } from './stack.ts';

/** The demo key may sign for the local snmpd and up to this many simulated devices. */
const maxSimulated = 200;
const say = (text: string) => process.stderr.write(`[demo] ${text}\n`);

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'Run AMOSKYS end to end on this machine: local stack, topics, schemas, a demo key, snmpd plus\n' +
        'simulated devices polled by the producer, the processor verifying and flattening; then a summary.',
    )
    .addOption(
      new Option('--duration <seconds>', 'how long the producer polls').default(60).argParser(Number),
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
        say(
          `produced ${p.envelopesProduced} envelopes (${p.bytesCollected} B collected) | processed ${s.in}: accepted ${s.accepted}, rejected ${s.rejected}, duplicates ${s.duplicates}`,
        );
      }, 10_000);
      await new Promise((resolve) => setTimeout(resolve, opts.duration * 1000));
      await producer.close();
      const produced = producer.stats();
      // The processor started at the committed offsets of its group, so it also sees what earlier
      // runs left unprocessed; wait until it has at least this run's envelopes.
      const deadline = Date.now() + 60_000;
      while (processor.stats().in < produced.envelopesProduced && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      clearInterval(progress);
      await processor.close();
      await logic.close();
      await simulator?.close();

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
        reconciles: s.in === s.accepted + s.rejected + s.duplicates && s.in >= produced.envelopesProduced,
      };
      if (opts.json) printJson(summary);
      else {
        process.stdout.write(
          [
            '',
            `devices polled        ${summary.devices}`,
            `envelopes produced    ${summary.envelopesProduced} (failed ${summary.envelopesFailed})`,
            `bytes collected       ${summary.bytesCollected}  -> produced ${summary.bytesProduced} (signed envelopes; stored is never smaller)`,
            `processed             ${summary.processed} = accepted ${summary.accepted} + rejected ${summary.rejected} + duplicates ${summary.duplicates}`,
            `rejects by reason     ${JSON.stringify(summary.rejectedByReason)}`,
            `poll slots missed     ${JSON.stringify(summary.missedSlots)}`,
            `reconciliation        ${summary.reconciles ? 'ok' : 'FAILED'}`,
            '',
            'Feature rows are on the features topic; the ClickHouse sink and analyst views come next (issue 5).',
            'Stop the stack with `bin/amoskys stack down`.',
            '',
          ].join('\n'),
        );
      }
      if (!summary.reconciles || summary.envelopesFailed > 0) process.exitCode = 1;
    });
}
