import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createClickHouse } from '../../core/clickhouse/index.ts';
import type { Config } from '../../core/config/index.ts';
import { toJsonValue } from '../../core/envelope/index.ts';
import { createKafka } from '../../core/kafka/index.ts';
import {
  type InspectResult,
  type InspectTable,
  inspectTable,
  inspectTables,
  inspectTopic,
  type KindHint,
  type LoadedTrust,
  readTrustSnapshot,
  renderMessage,
  type TopicRole,
  tableOfRole,
} from '../../tools/inspect/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';
import { trustStorePath } from './keys.ts';

interface InspectOptions {
  from?: string;
  source: 'kafka' | 'clickhouse';
  table?: InspectTable;
  limit: number;
  last?: boolean;
  partition?: number;
  offset?: bigint;
  device?: string;
  key?: string;
  kind?: KindHint;
  full?: boolean;
  exportJson?: string;
  json?: boolean;
  trustStore?: string;
  timeout: number;
}

const roles: readonly TopicRole[] = ['raw', 'features', 'dlq'];

function nonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`${what} must be a whole number`);
    return n;
  };
}

function positiveInt(value: string): number {
  const n = nonNegativeInt('the limit')(value);
  if (n < 1) throw new InvalidArgumentError('the limit must be at least 1');
  return n;
}

function offset(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('an offset is a whole number (the first to read)');
  return BigInt(value);
}

/** The topic and role a `topic-or-role` names. */
function resolveTopic(config: Config, name: string): { topic: string; role: TopicRole | undefined } {
  if ((roles as readonly string[]).includes(name))
    return { topic: config.topics[name as TopicRole], role: name as TopicRole };
  const role = roles.find((r) => config.topics[r] === name);
  return { topic: name, role };
}

const examples = `
Examples:
  amoskys inspect                              the first 10 envelopes of the raw topic
  amoskys inspect raw --last -n 3              the 3 newest envelopes
  amoskys inspect dlq --last                   the newest dead letters: reason, then the rejected bytes decoded
  amoskys inspect features --device router-1   feature rows of one device
  amoskys inspect raw --partition 2 --offset 1500 -n 1 --full
                                               one envelope with long values and its protobuf text format
  amoskys inspect raw --key router-1/60/29932440
  amoskys inspect --source clickhouse --table raw_envelopes --device router-1 --last
  amoskys inspect dlq --source clickhouse --json | jq '.messages[].deadLetter.reason'
  amoskys inspect amoskys.telemetry.raw.v1 --export-json /tmp/raw.json

Signature status: verified | bad_signature | unknown_key | unsigned | malformed, checked over the
bytes as received against the trust store (--trust-store, else processor.trustStore, else
<stateDir>/keys/trust-store.json); trust warnings (revoked, retired, not bound to the device) follow it.
Flags: no_metrics (a wrapper with no measurement), legacy_events (FlowEvent/ProcessEvent),
no_payload, unknown_events, unknown_fields. docs/operations.md has the details.`;

function summary(result: InspectResult): string {
  const n = result.messages.length;
  if (result.source.kind === 'clickhouse') {
    return `${n} row(s) of ${result.source.database}.${result.source.table}`;
  }
  const why =
    result.stoppedBy === 'limit'
      ? 'the limit was reached'
      : result.stoppedBy === 'end'
        ? 'the end of every partition was reached'
        : 'nothing arrived before the timeout';
  const positions = result.partitions
    .map((p) => `${p.partition}: ${p.start}..${p.position} of ${p.end}`)
    .join(', ');
  return `${n} message(s) of ${result.source.topic} (decoded as ${result.source.decodedAs}); scanned ${result.scanned} record(s); stopped because ${why}${positions ? `; partitions ${positions}` : ''}`;
}

function document(result: InspectResult, trust: LoadedTrust, withHex: boolean) {
  return toJsonValue({
    source: result.source,
    trustStore: { file: trust.file, found: trust.found, keys: Object.keys(trust.snapshot.keys).length },
    scanned: result.scanned,
    stoppedBy: result.stoppedBy,
    partitions: result.partitions,
    messages: withHex ? result.messages : result.messages.map(({ valueHex: _, ...m }) => m),
  });
}

/** `amoskys inspect`: decode messages of a topic or a ClickHouse table. */
export function inspectCommand(): Command {
  return new Command('inspect')
    .summary('Decode messages of a topic or a ClickHouse table: envelopes, signatures, metrics')
    .description(
      'Decode messages of a pipeline topic (raw, features, dlq or any topic name) or of a ClickHouse ' +
        'table: coordinates, wire format, envelope header, signature status, device, event types and ' +
        'counts (legacy FlowEvent/ProcessEvent included) and every metric value; dead letters with their ' +
        'reason, then the rejected bytes decoded as far as they go. Read-only: commits no offsets, stops ' +
        'at --limit or at the end of the partitions, never waits on an empty topic.',
    )
    .argument(
      '[topic-or-role]',
      'raw | features | dlq (the configured topics) or a topic name (default: raw)',
    )
    .option('--from <topic-or-role>', 'the same as the argument')
    .addOption(
      new Option('--source <source>', 'read from Kafka or from the ClickHouse tables')
        .choices(['kafka', 'clickhouse'])
        .default('kafka'),
    )
    .addOption(
      new Option(
        '--table <table>',
        "ClickHouse table (default: the role's table, else raw_envelopes)",
      ).choices(inspectTables),
    )
    .addOption(new Option('-n, --limit <n>', 'messages to show').argParser(positiveInt).default(10))
    .option('--last', 'the newest messages instead of the oldest')
    .addOption(new Option('--partition <n>', 'only this partition').argParser(nonNegativeInt('a partition')))
    .addOption(
      new Option('--offset <n>', 'start at this offset (in --partition, else in every partition)').argParser(
        offset,
      ),
    )
    .option('--device <id>', 'only this device (the record key; in the dlq, the rejected record key)')
    .option('--key <idempotency-key>', 'only this idempotency key (<device>/<interval_s>/<slot>)')
    .addOption(
      new Option('--kind <kind>', 'decode as (default: from the role, else recognised per message)').choices([
        'envelope',
        'feature_row',
        'dead_letter',
        'auto',
      ]),
    )
    .option('--full', 'long values in full, and the protobuf text format of every payload')
    .option('--export-json <file>', 'also write the decoded messages, each value as hex, to this JSON file')
    .option('--json', 'print JSON instead of text')
    .option(
      '--trust-store <file>',
      'trust store to check signatures against (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .addOption(
      new Option('--timeout <seconds>', 'stop reading a topic when nothing arrived for this long')
        .argParser(positiveInt)
        .default(15),
    )
    .addHelpText('after', examples)
    .action(async function (this: Command, argument: string | undefined, opts: InspectOptions) {
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      if (argument !== undefined && opts.from !== undefined && argument !== opts.from) {
        this.error(`error: name the topic once: the argument says ${argument}, --from says ${opts.from}`, {
          exitCode: 2,
        });
      }
      const name = argument ?? opts.from ?? 'raw';
      const trust = readTrustSnapshot(trustStorePath(config, opts.trustStore));
      if (!trust.found) {
        process.stderr.write(
          `[inspect] trust store ${trust.file} does not exist: every signature shows as unknown_key\n`,
        );
      }
      const ctx = {
        trust: trust.snapshot,
        nowMs: Date.now(),
        full: opts.full === true,
        valueHex: opts.exportJson !== undefined || (opts.json === true && opts.full === true),
      };
      const filters = {
        limit: opts.limit,
        mode: opts.last ? ('last' as const) : ('first' as const),
        ...(opts.device === undefined ? {} : { device: opts.device }),
        ...(opts.key === undefined ? {} : { idempotencyKey: opts.key }),
        ...(opts.partition === undefined ? {} : { partition: opts.partition }),
        ...(opts.offset === undefined ? {} : { startOffset: opts.offset }),
      };

      let result: InspectResult;
      if (opts.source === 'clickhouse') {
        const { role } = resolveTopic(config, name);
        const explicit = argument !== undefined || opts.from !== undefined;
        if (explicit && role === undefined && opts.table === undefined) {
          this.error(
            `error: ${name} is not a pipeline topic; name a ClickHouse table with --table (${inspectTables.join(', ')})`,
            { exitCode: 2 },
          );
        }
        const table = opts.table ?? tableOfRole[role ?? 'raw'];
        const client = createClickHouse(config);
        try {
          result = await inspectTable(client, {
            database: config.clickhouse.database,
            table,
            ctx,
            ...filters,
          });
        } finally {
          await client.close();
        }
      } else {
        const { topic, role } = resolveTopic(config, name);
        result = await inspectTopic(createKafka(config, 'inspect', logger), {
          topic,
          role,
          ...(opts.kind === undefined ? {} : { kind: opts.kind }),
          ctx,
          idleTimeoutMs: opts.timeout * 1000,
          ...filters,
          onProgress: (p) => {
            process.stderr.write(
              `[inspect] scanned ${p.scanned} record(s), ${p.matched} matched, ${p.remaining} left to the end offsets\n`,
            );
          },
        });
      }

      if (opts.exportJson !== undefined) {
        const file = path.resolve(opts.exportJson);
        writeFileSync(file, `${JSON.stringify(document(result, trust, true), null, 2)}\n`);
        process.stderr.write(`[inspect] wrote ${result.messages.length} message(s) to ${file}\n`);
      }
      if (opts.json) {
        printJson(document(result, trust, ctx.valueHex && opts.full === true));
      } else {
        const blocks = result.messages.map((m) => renderMessage(m, { full: opts.full === true }));
        process.stdout.write(`${[...blocks, summary(result)].join('\n\n')}\n`);
      }
      if (result.source.kind === 'kafka' && result.stoppedBy === 'idle') {
        process.stderr.write(
          `amoskys: nothing arrived for ${opts.timeout} s before the end offsets were reached (an open transaction, or a broker problem); the output is partial\n`,
        );
        process.exitCode = 1;
      }
    });
}
