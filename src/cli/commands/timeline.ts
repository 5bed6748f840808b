/**
 * `amoskys timeline`: collection health over time, from ClickHouse. The computation is in
 * src/tools/timeline; this file parses options, reads, and writes the renderings.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createClickHouse } from '../../core/clickhouse/index.ts';
import {
  buildTimeline,
  readTimelineInput,
  renderTimelineText,
  resolveWindow,
  type TimeWindow,
  timelineCsv,
  timelineSvg,
} from '../../tools/timeline/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';

/** Options shared with `amoskys analyze`: a time window. */
export interface WindowCliOptions {
  since?: string;
  until?: string;
  hours?: number;
}

/** A number option's parser that refuses what is not a finite number (a usage error, exit 2). */
export function finiteNumber(name: string, min: number, max = Number.POSITIVE_INFINITY) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be a number from ${min}${Number.isFinite(max) ? ` to ${max}` : ''}`,
      );
    }
    return n;
  };
}

/** Adds --since, --until and --hours to a command. */
export function addWindowOptions(command: Command, defaultText: string): Command {
  return command
    .option('--since <time>', 'window start: ISO 8601 (UTC unless a zone is given) or epoch seconds')
    .option('--until <time>', 'window end, exclusive (default: now)')
    .addOption(
      new Option('--hours <n>', `the last N hours before --until (${defaultText})`).argParser(
        finiteNumber('--hours', 0.001),
      ),
    );
}

/** The window of the options, or a usage error (exit 2) naming what is wrong. */
export function windowOf(command: Command, opts: WindowCliOptions, defaultHours?: number): TimeWindow {
  try {
    return resolveWindow(opts, Math.floor(Date.now() / 1000), defaultHours);
  } catch (err) {
    if (err instanceof RangeError) command.error(`error: ${err.message}`, { exitCode: 2 });
    throw err;
  }
}

/** `<dir>/<name>-<suffix>.csv` next to `file`. */
function sibling(file: string, suffix: string): string {
  const parsed = path.parse(file);
  return path.join(parsed.dir, `${parsed.ext === '.csv' ? parsed.name : parsed.base}-${suffix}.csv`);
}

interface TimelineOptions extends WindowCliOptions {
  device?: string;
  tolerance: number;
  exportCsv?: string;
  image?: string;
  json?: boolean;
}

export function timelineCommand(): Command {
  const command = new Command('timeline').description(
    'Collection timeline from ClickHouse, per device or for all: polls per hour, daily summary, ' +
      'inter-arrival statistics, a health score, an hour-of-day heatmap and the gaps. Times are UTC.\n\n' +
      'Definitions (docs/operations.md, "timeline"): the inter-arrival of a poll is the time since the ' +
      "device's previous poll (observed_at); it is on time within interval ± tolerance × interval, and " +
      "the health score is the share of inter-arrivals on time (a new device's first poll is not judged). " +
      'A gap is an inter-arrival over interval × (1 + tolerance); an open gap means no poll since. ' +
      'Coverage = polls / slots due in the window.',
  );
  command.summary('Collection timeline and health per device: heatmap, gaps, inter-arrivals (ClickHouse)');
  addWindowOptions(command, 'default 24')
    .option('--device <id>', 'one device only')
    .addOption(
      new Option('--tolerance <fraction>', 'on-time tolerance, as a fraction of the interval')
        .default(0.5)
        .argParser(finiteNumber('--tolerance', 0, 0.99)),
    )
    .option(
      '--export-csv <file>',
      'write device x hour counts to <file>, and <name>-devices.csv, <name>-gaps.csv next to it',
    )
    .option('--image <file.svg>', 'write the heatmap and a timeline strip per device as an SVG image')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  amoskys timeline                              the last 24 hours, every device\n' +
        '  amoskys timeline --device router-1 --hours 168 --image router-1.svg\n' +
        '  amoskys timeline --since 2024-01-01 --until 2024-01-08 --export-csv week.csv\n' +
        '  amoskys timeline --hours 1 --json | jq .totals',
    )
    .action(async function (this: Command, opts: TimelineOptions) {
      if (opts.image !== undefined && path.extname(opts.image).toLowerCase() !== '.svg') {
        this.error(
          `error: --image writes SVG (a PNG needs a rasteriser AMOSKYS does not ship); name the file *.svg, got ${opts.image}`,
          { exitCode: 2 },
        );
      }
      const window = windowOf(this, opts, 24);
      const { loaded } = contextFor(this);
      const { config } = loaded;
      const client = createClickHouse(config);
      const started = Date.now();
      let lastProgress = started;
      try {
        const input = await readTimelineInput(client, {
          database: config.clickhouse.database,
          window,
          deviceId: opts.device,
          onProgress: (polls) => {
            if (Date.now() - lastProgress < 1000) return;
            lastProgress = Date.now();
            process.stderr.write(`[timeline] read ${polls} polls\n`);
          },
        });
        const polls = input.devices.reduce((s, d) => s + d.polls.length, 0);
        process.stderr.write(
          `[timeline] read ${polls} polls of ${input.devices.length} devices from ${config.clickhouse.database} in ${Date.now() - started} ms\n`,
        );
        const report = buildTimeline(input.devices, input.hourCounts, { window, tolerance: opts.tolerance });

        if (opts.exportCsv !== undefined) {
          const csv = timelineCsv(report);
          const files = [
            [opts.exportCsv, csv.hours],
            [sibling(opts.exportCsv, 'devices'), csv.devices],
            [sibling(opts.exportCsv, 'gaps'), csv.gaps],
          ] as const;
          for (const [file, text] of files) writeFileSync(file, text);
          process.stderr.write(`[timeline] wrote ${files.map(([f]) => f).join(', ')}\n`);
        }
        if (opts.image !== undefined) {
          writeFileSync(opts.image, timelineSvg(report));
          process.stderr.write(`[timeline] wrote ${opts.image}\n`);
        }
        if (opts.json) printJson(report);
        else process.stdout.write(renderTimelineText(report));
      } catch (err) {
        if (err instanceof CommanderError) throw err;
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(
          `amoskys timeline: reading ClickHouse ${config.clickhouse.url}, database ${config.clickhouse.database}: ${message}\n`,
        );
        process.exitCode = 1;
      } finally {
        await client.close();
      }
    });
  return command;
}
