import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../core/config/index.ts';
import { readKeyFile, signerFor } from '../../core/crypto/index.ts';
import { KeyFileError } from '../../core/errors/index.ts';
import { createKafka } from '../../core/kafka/index.ts';
import { createMetricsRegistry, startMetricsServer } from '../../core/metrics/index.ts';
import { buildInventory, type Device, loadInventory, startProducer } from '../../producers/snmp/index.ts';
import { contextFor } from '../context.ts';
import { untilStopped } from '../lifecycle.ts';

/** The devices to poll: the inventory file, or the reference agent as `local-snmpd`. */
export function producerDevices(config: Config, inventoryFile?: string): Device[] {
  const file = inventoryFile ?? config.producer.inventory;
  if (file !== '') return loadInventory(path.resolve(file)).devices;
  return buildInventory({
    devices: [
      {
        id: 'local-snmpd',
        address: config.snmp.host,
        port: config.snmp.port,
        version: 'v2c',
        community: config.snmp.community,
        intervalSeconds: config.producer.intervalSeconds,
      },
    ],
  }).devices;
}

/** The producer's key file: configured, or `<stateDir>/keys/producer.json`. */
export function producerKeyFile(config: Config, override?: string): string {
  return path.resolve(
    override ?? (config.producer.keyFile || path.join(config.stateDir, 'keys', 'producer.json')),
  );
}

export function producerCommand(): Command {
  const producer = new Command('producer').description(
    'The SNMP producer: polls devices, signs one envelope per poll, produces them to the raw topic',
  );
  producer
    .command('run')
    .description(
      'Poll the inventory on schedule and produce signed envelopes until interrupted (or --duration).\n' +
        'Needs the topics and schemas applied (amoskys topics apply, amoskys schemas apply) and a key\n' +
        'made by amoskys keys generate that is bound to every device polled.',
    )
    .option(
      '--inventory <file>',
      'device inventory (default: config producer.inventory, else the snmp agent)',
    )
    .option('--key-file <file>', 'signing key file (default: config producer.keyFile)')
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(Number))
    .action(async function (
      this: Command,
      opts: { inventory?: string; keyFile?: string; duration?: number },
    ) {
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      const devices = producerDevices(config, opts.inventory);
      const keyFile = producerKeyFile(config, opts.keyFile);
      const { key, warnings } = readKeyFile(keyFile);
      for (const warning of warnings) logger.warn({ keyFile }, warning);
      // Fail at start, not at the processor: an envelope signed for a device the key is not bound to
      // would be dead-lettered there, every poll.
      const unbound = devices.map((d) => d.id).filter((id) => !key.devices.includes(id));
      if (unbound.length > 0) {
        throw new KeyFileError(
          `key ${key.keyId} (${keyFile}) may not sign for: ${unbound.join(', ')}; make a key bound to them with amoskys keys generate`,
          { keyId: key.keyId },
        );
      }

      const metrics = createMetricsRegistry('producer');
      const stage = await startProducer({
        config,
        kafka: createKafka(config, 'producer', logger),
        devices,
        signer: signerFor(key),
        logger,
        metrics,
      });
      const server = await startMetricsServer(metrics, {
        host: config.metrics.host,
        port: config.metrics.port,
        health: () => ({ healthy: true, details: { ...stage.stats() } }),
      });
      process.stderr.write(
        `[producer] polling ${devices.length} device(s) into ${config.topics.raw}; metrics on http://${config.metrics.host}:${server.port}/metrics\n`,
      );
      const progress = setInterval(() => {
        const s = stage.stats();
        process.stderr.write(
          `[producer] envelopes produced ${s.envelopesProduced}, failed ${s.envelopesFailed}, bytes collected ${s.bytesCollected}, produced ${s.bytesProduced}\n`,
        );
      }, 10_000);

      await untilStopped(opts.duration);
      clearInterval(progress);
      await stage.close();
      await server.close();
      const s = stage.stats();
      process.stdout.write(
        `${JSON.stringify({ envelopesProduced: s.envelopesProduced, envelopesFailed: s.envelopesFailed, bytesCollected: s.bytesCollected, bytesProduced: s.bytesProduced, scheduler: s.scheduler })}\n`,
      );
      if (s.envelopesFailed > 0) process.exitCode = 1;
    });
  return producer;
}
