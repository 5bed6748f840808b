/** The analyze report: verdict (exit code and problems) and its terminal rendering. Pure. */
import { formatTable } from '../../cli/output.ts';
import { describeWindow, percent } from '../timeline/index.ts';
import type {
  AnalyzeReport,
  BytesReport,
  DeviceCompleteness,
  MetricNameSeen,
  Reconciliation,
} from './types.ts';

/** The parts of a report, before the verdict. */
export type AnalyzeParts = Omit<AnalyzeReport, 'exitCode' | 'problems'>;

/**
 * Adds the verdict: exit code 1 when a message is missing or stored incompletely, or a stored
 * envelope raises a bytes alarm; 0 otherwise. Keys stored but no longer on the topic (retention)
 * and incomplete features are reported, never failed on: they are not loss in the pipeline.
 */
export function withVerdict(parts: AnalyzeParts): AnalyzeReport {
  const r = parts.reconciliation;
  const b = parts.bytes;
  const problems: string[] = [];
  if (r.missing > 0) {
    problems.push(
      `${r.missing} message(s) on the topic are neither stored nor dead-lettered (lost, or not processed yet)`,
    );
  }
  if (r.partial > 0) {
    problems.push(`${r.partial} message(s) are stored in only one of features and raw_envelopes`);
  }
  if (b.alarms > 0) {
    const kinds = Object.entries(b.alarmsByKind)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    problems.push(`${b.alarms} stored envelope(s) raise a bytes alarm (${kinds})`);
  }
  return { ...parts, exitCode: problems.length === 0 ? 0 : 1, problems };
}

const int = (n: number) => n.toLocaleString('en-US');
const ratioText = (r: number | null) => (r === null ? '-' : r.toFixed(2));

function reconciliationText(r: Reconciliation): string[] {
  const out = [
    `produced ${int(r.produced)} = stored ${int(r.stored)} + rejected ${int(r.rejected)} + duplicates ${int(r.duplicates)}` +
      (r.reconciled
        ? '   reconciled'
        : `   NOT RECONCILED: missing ${int(r.missing)}, partial ${int(r.partial)}`),
  ];
  const reasons = Object.entries(r.rejectedByReason).sort(([a], [b]) => (a < b ? -1 : 1));
  if (reasons.length > 0)
    out.push(`rejected by reason: ${reasons.map(([k, n]) => `${k} ${int(n)}`).join(', ')}`);
  out.push(
    `outside the window: ${int(r.outsideWindow)}; stored but not on the topic (retention, or produced elsewhere): ${int(r.notOnTopic)}`,
  );
  if (r.devices.length > 0) {
    out.push(
      '',
      formatTable(
        ['DEVICE', 'PRODUCED', 'STORED', 'REJECTED', 'DUPLICATES', 'PARTIAL', 'MISSING', 'NOT ON TOPIC'],
        r.devices.map((d) => [
          d.deviceId,
          int(d.produced),
          int(d.stored),
          int(d.rejected),
          int(d.duplicates),
          int(d.partial),
          int(d.missing),
          int(d.notOnTopic),
        ]),
      ),
    );
  }
  if (r.lost.length > 0) {
    out.push(
      '',
      `Lost or partial messages (first ${r.lost.length} of ${int(r.missing + r.partial)})`,
      formatTable(
        ['PARTITION', 'OFFSET', 'DEVICE', 'KEY', 'FATE', 'DETAIL'],
        r.lost.map((m) => [
          String(m.partition),
          m.offset,
          m.deviceId,
          m.idempotencyKey ?? '-',
          m.fate,
          m.detail,
        ]),
      ),
    );
  }
  if (r.notOnTopicKeys.length > 0) {
    out.push(
      '',
      `Stored but not on the topic (first ${r.notOnTopicKeys.length}): ${r.notOnTopicKeys.join(', ')}`,
    );
  }
  return out;
}

function bytesText(b: BytesReport): string[] {
  const out = [
    `envelopes ${int(b.envelopes)}: collected ${int(b.collectedBytes)} B of SNMP, stored ${int(b.storedBytes)} B of envelopes ` +
      `(stored/collected ${ratioText(b.ratio)}) and ${int(b.metricRows)} metric rows; alarms ${int(b.alarms)}`,
  ];
  if (b.devices.length > 0) {
    out.push(
      '',
      formatTable(
        ['DEVICE', 'ENVELOPES', 'COLLECTED B', 'STORED B', 'RATIO', 'MIN RATIO', 'METRIC ROWS', 'ALARMS'],
        b.devices.map((d) => [
          d.deviceId,
          int(d.envelopes),
          int(d.collectedBytes),
          int(d.storedBytes),
          ratioText(d.ratio),
          ratioText(d.minRatio),
          int(d.metricRows),
          int(d.alarms),
        ]),
      ),
    );
  }
  if (b.alarmSample.length > 0) {
    out.push(
      '',
      `Alarms (first ${b.alarmSample.length})`,
      formatTable(
        ['KIND', 'KEY', 'COLLECTED B', 'STORED B', 'METRICS IN ENVELOPE', 'METRIC ROWS'],
        b.alarmSample.map((a) => [
          a.kind,
          a.idempotencyKey,
          int(a.collectedBytes),
          a.storedBytes === null ? '-' : int(a.storedBytes),
          a.metricCount === null ? '-' : int(a.metricCount),
          int(a.metricRows),
        ]),
      ),
    );
  }
  return out;
}

function completenessText(rows: readonly DeviceCompleteness[], features: number): string[] {
  if (rows.length === 0) return ['no feature rows in this window'];
  const out = [
    formatTable(
      ['DEVICE', 'POLLS', 'ANSWERED', 'COMPLETENESS', 'MISSING FEATURES'],
      rows.map((d) => [
        d.deviceId,
        int(d.polls),
        int(d.answered),
        percent(d.completeness),
        d.missing.length === 0 ? '-' : `${d.missing.length}/${features}: ${d.missing.join(', ')}`,
      ]),
    ),
  ];
  const sparse = rows.filter((d) => d.sparse.length > 0);
  for (const d of sparse) {
    out.push(`  ${d.deviceId} sparse: ${d.sparse.map((s) => `${s.name} ${percent(s.share)}`).join(', ')}`);
  }
  return out;
}

function metricNamesText(names: readonly MetricNameSeen[]): string[] {
  if (names.length === 0) return ['none'];
  return [
    formatTable(
      ['METRIC', 'ROWS', 'DEVICES', 'ENVELOPES'],
      names.map((m) => [m.name, int(m.rows), int(m.devices), int(m.envelopes)]),
    ),
  ];
}

/** The report for a terminal. */
export function renderAnalyzeText(report: AnalyzeReport, features: number): string {
  const partitions = report.partitions.map((p) => `${p.partition}:[${p.start},${p.end})`).join(' ');
  const out = [
    `Pipeline analysis: topic ${report.rawTopic} -> ClickHouse ${report.database}, window ${describeWindow(report.window)}` +
      (report.deviceId === null ? '' : `, device ${report.deviceId}`),
    `offsets read ${partitions === '' ? '(topic empty)' : partitions}`,
    '',
    'Reconciliation (every message on the raw topic)',
    ...reconciliationText(report.reconciliation),
    '',
    `Bytes collected vs stored (alarm: stored/collected < ${report.bytes.minRatio}, no metric rows for an answered poll, metric rows lost)`,
    ...bytesText(report.bytes),
    '',
    `Metric completeness: share of answered polls with each of the ${features} named features`,
    ...completenessText(report.completeness, features),
    '',
    `Metric names seen (${report.metricNames.length})`,
    ...metricNamesText(report.metricNames),
    '',
    report.exitCode === 0
      ? 'RESULT: reconciled, no alarm (exit 0)'
      : `RESULT: FAILED (exit 1)\n${report.problems.map((p) => `  - ${p}`).join('\n')}`,
  ];
  return `${out.join('\n')}\n`;
}
