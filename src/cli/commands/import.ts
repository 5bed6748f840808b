import path from 'node:path';
import { Command, Option } from 'commander';
import { envelopeSchema, toJsonValue } from '../../core/envelope/index.ts';
import { AmoskysError, ErrorCode, InputError } from '../../core/errors/index.ts';
import { BatchProducer, createKafka } from '../../core/kafka/index.ts';
import { lookupSchema } from '../../core/registry/index.ts';
import { readTrustSnapshot } from '../../tools/inspect/index.ts';
import {
  ChecksumAlgorithm,
  type ImportCounts,
  type ImportSink,
  importRows,
  type OpenedWal,
  openWal,
  parseColumnOverrides,
} from '../../tools/legacy-wal/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';
import { trustStorePath } from './keys.ts';

interface LegacyWalOptions {
  table?: string;
  columns?: string;
  checksum: ChecksumAlgorithm | 'auto';
  topic?: string;
  dryRun?: boolean;
  json?: boolean;
  trustStore?: string;
}

const examples = `
Examples:
  amoskys import legacy-wal /var/lib/agent/wal.db --dry-run   check every row, produce nothing
  amoskys import legacy-wal wal.db                            import into the raw topic
  amoskys import legacy-wal old.db --table events --columns key=idem,bytes=payload --json

The table holds one envelope per row: idempotency key, ts_ns, the envelope bytes (BLOB) and a
checksum of them (SHA-256 or BLAKE2b-256 as 32 raw bytes or 64 hex digits; SHA-512/BLAKE2b-512
likewise). Rows whose checksum does not match are not imported and are listed. Each imported
message carries the original bytes unchanged inside the Confluent frame, key = device id, and the
headers amoskys.import.{source,file,row,flags,checksum}; flags such as no_metrics mark wrappers
that carry no measurement. Exit code 1 when any row was not imported. docs/operations.md has more.`;

function counted(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '' : `  (${entries.map(([k, n]) => `${k} ${n}`).join(', ')})`;
}

function textReport(wal: OpenedWal, target: string, counts: ImportCounts): string {
  const columns = Object.entries(wal.columns)
    .map(([role, column]) => `${role}=${column}`)
    .join(', ');
  const lines = [
    `${counts.dryRun ? 'checked (dry run, nothing produced)' : 'imported'} ${wal.file}: table ${wal.table}, journal mode ${wal.journalMode}, columns ${columns}`,
    `${counts.dryRun ? 'would go to' : 'into'} ${target}`,
    `rows          ${counts.rows}`,
    `checksum ok   ${counts.checksumOk}${counted(counts.algorithms)}`,
    `not imported  ${counts.checksumBad}${counts.checksumBad > 0 ? '  (bad checksum or bytes: listed below)' : ''}`,
    `imported      ${counts.imported}${counts.dryRun ? `  (dry run; ${counts.checksumOk} would be)` : ''}`,
    `failed        ${counts.failed}`,
    `flagged       ${counts.flagged}${counted(counts.flags)}`,
    `signatures    ${Object.entries(counts.signatures)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `took          ${(counts.durationMs / 1000).toFixed(1)} s`,
  ];
  const more = (shown: number, total: number) =>
    total > shown ? [`  ... ${total - shown} more (the report lists ${counts.listLimit})`] : [];
  if (counts.rejected.length > 0) {
    lines.push('not imported:');
    for (const r of counts.rejected) lines.push(`  row ${r.rowId}  key ${r.key ?? '(null)'}  ${r.detail}`);
    lines.push(...more(counts.rejected.length, counts.checksumBad));
  }
  if (counts.failedRows.length > 0) {
    lines.push('not acknowledged by Kafka:');
    for (const r of counts.failedRows) lines.push(`  row ${r.rowId}  key ${r.key ?? '(null)'}  ${r.detail}`);
    lines.push(...more(counts.failedRows.length, counts.failed));
  }
  if (counts.flaggedRows.length > 0) {
    lines.push('flagged:');
    for (const r of counts.flaggedRows) {
      lines.push(`  row ${r.rowId}  key ${r.key ?? '(null)'}  device ${r.deviceId}  ${r.flags.join(',')}`);
    }
    lines.push(...more(counts.flaggedRows.length, counts.flagged));
  }
  return lines.join('\n');
}

/** `amoskys import`: bring data of earlier systems into the pipeline. */
export function importCommand(): Command {
  const command = new Command('import').description('Bring data of earlier systems into the pipeline');

  command
    .command('legacy-wal')
    .summary('Import an old SQLite WAL of envelopes into the raw topic')
    .description(
      'Import an old SQLite WAL of envelopes (idempotency key, ts_ns, envelope bytes, checksum) into the ' +
        'raw topic: checksums verified (bad rows listed, not imported), the original bytes kept inside ' +
        'the Confluent frame, wrappers that carry no metrics flagged. Progress on stderr.',
    )
    .argument('<file>', 'the SQLite database file (not its -wal journal; SQLite reads that along with it)')
    .option('--table <name>', 'table of envelopes (default: wal, else the only table with the four columns)')
    .option(
      '--columns <role=column,...>',
      'column names where the defaults do not fit: key, ts, bytes, checksum',
    )
    .addOption(
      new Option(
        '--checksum <algorithm>',
        'checksum algorithm (auto: by stored length, each candidate tried)',
      )
        .choices(['auto', ...Object.values(ChecksumAlgorithm)])
        .default('auto'),
    )
    .option(
      '--topic <topic>',
      'topic to produce to (default: topics.raw); its -value subject must hold the envelope schema',
    )
    .option('--dry-run', 'check every row and report, produce nothing')
    .option('--json', 'print the report as JSON')
    .option(
      '--trust-store <file>',
      'trust store for the signature counts (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .addHelpText('after', examples)
    .action(async function (this: Command, file: string, opts: LegacyWalOptions) {
      const { loaded, logger } = contextFor(this);
      const { config } = loaded;
      const overrides = opts.columns === undefined ? {} : parseColumnOverrides(opts.columns);
      const wal = openWal(path.resolve(file), {
        ...(opts.table === undefined ? {} : { table: opts.table }),
        columns: overrides,
      });
      const trust = readTrustSnapshot(trustStorePath(config, opts.trustStore));
      const topic = opts.topic ?? config.topics.raw;
      let producer: BatchProducer | undefined;
      try {
        let schemaId = 0;
        let sink: ImportSink | undefined;
        if (!opts.dryRun) {
          const subject = `${topic}-value`;
          const found = await lookupSchema(config, subject, envelopeSchema.source);
          if (found === undefined) {
            throw new AmoskysError(
              ErrorCode.Registry,
              `the envelope schema is not registered under ${subject} at ${config.registry.url}; run \`amoskys schemas apply\` first`,
              { retriable: false, context: { subject } },
            );
          }
          schemaId = found.id;
          const kafka = createKafka(config, 'import', logger);
          const admin = kafka.admin();
          await admin.connect();
          try {
            if (!(await admin.listTopics()).includes(topic)) {
              throw new InputError(`topic ${topic} does not exist (amoskys topics apply creates it)`, {
                topic,
              });
            }
          } finally {
            await admin.disconnect();
          }
          const batching = new BatchProducer(kafka, logger);
          producer = batching;
          await batching.start();
          sink = {
            ready: () => batching.ready(),
            send: (message) => batching.send({ topic, ...message }),
            flush: () => batching.flush(),
          };
        }
        process.stderr.write(
          `[import] ${wal.rowCount} row(s) in ${wal.table} of ${wal.file}${opts.dryRun ? ' (dry run)' : ` -> ${topic}, schema id ${schemaId}`}\n`,
        );
        const counts = await importRows({
          rows: wal.rows(),
          totalRows: wal.rowCount,
          fileName: path.basename(wal.file),
          schemaId,
          messageIndexes: envelopeSchema.messageIndexes,
          sink,
          trust: trust.snapshot,
          nowMs: Date.now(),
          algorithm: opts.checksum,
          onProgress: (p) => {
            const percent = p.totalRows > 0 ? ` (${Math.floor((100 * p.rowsRead) / p.totalRows)}%)` : '';
            process.stderr.write(
              `[import] ${p.rowsRead}/${p.totalRows} rows${percent}: checksum ok ${p.checksumOk}, bad ${p.checksumBad}, imported ${p.imported}, flagged ${p.flagged}; ${p.rowsPerSecond} rows/s\n`,
            );
          },
        });
        if (opts.json) {
          printJson(
            toJsonValue({
              file: wal.file,
              table: wal.table,
              journalMode: wal.journalMode,
              columns: wal.columns,
              topic: opts.dryRun ? null : topic,
              schemaId: opts.dryRun ? null : schemaId,
              trustStore: { file: trust.file, found: trust.found },
              ...counts,
            }),
          );
        } else {
          process.stdout.write(
            `${textReport(wal, opts.dryRun ? topic : `${topic} (schema id ${schemaId})`, counts)}\n`,
          );
        }
        if (counts.checksumBad > 0 || counts.failed > 0) process.exitCode = 1;
      } finally {
        await producer?.close();
        wal.close();
      }
    });

  return command;
}
