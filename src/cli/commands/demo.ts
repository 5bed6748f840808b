import { Command } from 'commander';
import { stackUp } from '../../core/stack/index.ts';
import { contextFor } from '../context.ts';
import { printStatus } from './stack.ts';

/**
 * The README's first command. Today it brings the local stack up and prints its status; the
 * producer, processor and sink stages join it as they land (issues 3-6).
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('Run AMOSKYS end to end on this machine: start the local stack and show its status')
    .action(async function (this: Command) {
      const { loaded } = contextFor(this);
      process.stderr.write('[demo] starting the local stack (first run downloads Kafka and the registry)\n');
      await stackUp(loaded.config);
      const healthy = await printStatus(loaded.config, ['kafka', 'registry', 'clickhouse', 'snmpd'], false);
      if (!healthy) {
        process.exitCode = 1;
        return;
      }
      process.stderr.write(
        '[demo] the stack is up. Pipeline stages are not built yet; stop the stack with `bin/amoskys stack down`.\n',
      );
    });
}
