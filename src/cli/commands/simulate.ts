import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startSimulator } from '../../producers/snmp/index.ts';
import { contextFor } from '../context.ts';
import { formatTable } from '../output.ts';

const positiveInt = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`${name} must be an integer 1..${max}`);
  return n;
};

/** `amoskys simulate devices`: a fleet of simulated SNMP agents for scale tests and demos. */
export function simulateCommand(): Command {
  const simulate = new Command('simulate').description('Simulated sources for tests and demos');

  simulate
    .command('devices')
    .description(
      'Serve N simulated SNMP agents (net-snmp) on consecutive UDP ports, each with the OIDs of the ' +
        'default profile and changing values: counters at device-specific rates that wrap (every third ' +
        'device starts near the wrap point), moving gauges, sysUpTime from the agent start. ' +
        'Runs until interrupted (Ctrl-C).',
    )
    .requiredOption('-n, --count <n>', 'number of agents', positiveInt('--count', 10_000))
    .addOption(
      new Option('--base-port <port>', 'UDP port of the first agent; the others follow')
        .argParser(positiveInt('--base-port', 65_535))
        .default(16100),
    )
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--community <community>', 'SNMPv2c community the agents accept (default: config snmp.community)')
    .option('--v3', 'also accept the SNMPv3 user of the configuration (snmp.v3, authPriv)')
    .option(
      '--seed <n>',
      'seed of the value models (same seed, same fleet)',
      positiveInt('--seed', 2 ** 31),
      1,
    )
    .option(
      '--wrap-after-seconds <s>',
      'near-wrap counters wrap this long after start',
      positiveInt('--wrap-after-seconds', 86_400),
      10,
    )
    .option('--write-inventory <file>', 'write an inventory YAML of the fleet for the SNMP producer')
    .option(
      '--interval <seconds>',
      'poll interval written into the inventory',
      positiveInt('--interval', 86_400),
      60,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  amoskys simulate devices --count 200 --write-inventory /tmp/fleet.yaml\n  snmpget -v2c -c amoskys -On 127.0.0.1:16100 1.3.6.1.2.1.1.5.0',
    )
    .action(async function (
      this: Command,
      opts: {
        count: number;
        basePort: number;
        host: string;
        community?: string;
        v3?: boolean;
        seed: number;
        wrapAfterSeconds: number;
        writeInventory?: string;
        interval: number;
      },
    ) {
      const { loaded } = contextFor(this);
      const { snmp } = loaded.config;
      const community = opts.community ?? snmp.community;
      const simulator = await startSimulator({
        count: opts.count,
        basePort: opts.basePort,
        host: opts.host,
        community,
        seed: opts.seed,
        wrapAfterMs: opts.wrapAfterSeconds * 1000,
        ...(opts.v3
          ? {
              v3: {
                user: snmp.v3.user,
                authProtocol: snmp.v3.authProtocol === 'md5' ? 'sha' : snmp.v3.authProtocol,
                authPass: snmp.v3.authPass,
                privProtocol: snmp.v3.privProtocol,
                privPass: snmp.v3.privPass,
              },
            }
          : {}),
      });
      if (opts.writeInventory !== undefined) {
        writeFileSync(
          opts.writeInventory,
          simulator.inventoryYaml({
            intervalSeconds: opts.interval,
            ...(opts.v3
              ? {
                  v3Env: {
                    authPassEnv: 'AMOSKYS_SNMP_V3_AUTH_PASS',
                    privPassEnv: 'AMOSKYS_SNMP_V3_PRIV_PASS',
                  },
                }
              : {}),
          }),
        );
      }
      const rows = simulator.agents.map((a) => [
        a.device.id,
        `udp:${a.host}:${a.port}`,
        a.device.nearWrap ? 'near wrap' : '',
      ]);
      process.stdout.write(`${formatTable(['DEVICE', 'ENDPOINT', 'COUNTERS'], rows)}\n`);
      const first = simulator.agents[0];
      const last = simulator.agents.at(-1);
      const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
      process.stderr.write(
        `[simulate] ${simulator.agents.length} agents on udp ${opts.host}:${first?.port}-${last?.port}, ` +
          `community ${community === snmp.community ? '(from config)' : '(from --community)'}` +
          `${opts.v3 ? `, v3 user ${snmp.v3.user}` : ''}; resident memory ${rssMb} MB` +
          `${opts.writeInventory === undefined ? '' : `; inventory in ${opts.writeInventory}`}. Ctrl-C stops.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await simulator.close();
      process.stderr.write(`[simulate] stopped after ${simulator.requestsServed()} requests\n`);
    });

  return simulate;
}
