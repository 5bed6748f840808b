/**
 * Text for people of inspected messages: one block per message, labels on the left, tables of
 * metric and feature values. Pure; JSON output is toJsonValue of the same data.
 */
import { formatMetricValue } from './decode.ts';
import type { EnvelopeView, FeatureRowView, InspectedMessage, PayloadView } from './types.ts';

/** Options of {@link renderMessage}. */
export interface RenderOptions {
  /** Long values in full and the protobuf text format (`--full`). @default false */
  full?: boolean;
}

const labelWidth = 12;
const maxCell = 60;

/** An ns timestamp as ISO 8601 UTC (ms precision). */
export function isoOfNs(ns: bigint): string {
  const date = new Date(Number(ns / 1_000_000n));
  return Number.isNaN(date.getTime()) ? `${ns} ns` : date.toISOString();
}

function cut(text: string, full: boolean): string {
  return full || text.length <= maxCell ? text : `${text.slice(0, maxCell - 1)}…`;
}

/** Left-aligned columns with a header line. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent: string,
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `${indent}${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function labelled(indent: string, label: string, text: string): string {
  return `${indent}${label.padEnd(labelWidth)}  ${text}`;
}

function envelopeLines(e: EnvelopeView, indent: string, full: boolean): string[] {
  const out: string[] = [];
  const h = e.header;
  out.push(
    labelled(
      indent,
      'envelope',
      `version ${h.envelopeVersion}, built ${isoOfNs(h.tsNs)} (ts_ns ${h.tsNs}), idempotency key ${h.idempotencyKey || '(empty)'}, key id ${h.signingKeyId || '(empty)'}`,
    ),
  );
  out.push(labelled(indent, 'signature', `${e.signature.status}: ${e.signature.detail}`));
  for (const warning of e.signature.warnings) out.push(labelled(indent, '', `! ${warning}`));
  out.push(
    labelled(
      indent,
      'device',
      e.device === undefined
        ? '(no device_telemetry payload)'
        : `${e.device.id || '(empty)'}, protocol ${e.device.protocol || '(empty)'}, slot start ${isoOfNs(e.device.slotStartNs)}`,
    ),
  );
  const counts = Object.entries(e.events)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${n} ${type}`);
  out.push(labelled(indent, 'events', counts.length === 0 ? 'none' : counts.join(', ')));
  if (e.flags.length > 0) out.push(labelled(indent, 'flags', e.flags.join(', ')));
  for (const s of e.statuses) {
    out.push(
      labelled(
        indent,
        'status',
        `${s.state}${s.reason ? ` (${s.reason})` : ''}, ${s.durationMs} ms, ${s.varbindsReceived}/${s.varbindsRequested} varbinds, ${s.bytesCollected} bytes collected`,
      ),
    );
  }
  if (e.metrics.length > 0) {
    out.push(`${indent}metrics (${e.metrics.length})`);
    out.push(
      ...table(
        ['NAME', 'VALUE', 'KIND', 'UNIT', 'OID', 'LABELS'],
        e.metrics.map((m) => [
          m.name,
          cut(formatMetricValue(m.value), full),
          m.value.kind === 'counter' ? `counter${m.value.bits}` : m.value.kind,
          m.unit,
          m.oid,
          m.labels.map((l) => `${l.key}=${l.value}`).join(','),
        ]),
        `${indent}  `,
      ),
    );
  }
  if (e.flows.length > 0) {
    out.push(`${indent}flows (${e.flows.length}, legacy FlowEvent)`);
    for (const f of e.flows) {
      out.push(
        `${indent}  ${f.srcIp}:${f.srcPort} -> ${f.dstIp}:${f.dstPort} ${f.protocol}, ${f.bytes} bytes, ${f.packets} packets, ${isoOfNs(f.startNs)} .. ${isoOfNs(f.endNs)}`,
      );
    }
  }
  if (e.processes.length > 0) {
    out.push(`${indent}processes (${e.processes.length}, legacy ProcessEvent)`);
    for (const p of e.processes) {
      out.push(
        `${indent}  pid ${p.pid} (ppid ${p.ppid}) ${p.name} [${p.user}] cpu ${p.cpuPercent}%, ${p.memoryBytes} bytes: ${cut(p.cmdline, full)}`,
      );
    }
  }
  return out;
}

function featureLines(f: FeatureRowView, indent: string, full: boolean): string[] {
  const h = f.header;
  const out = [
    labelled(
      indent,
      'feature row',
      `device ${h.device_id}, idempotency key ${h.idempotency_key}, slot start ${typeof h.slot_start_ns === 'bigint' ? isoOfNs(h.slot_start_ns) : String(h.slot_start_ns)}, key id ${h.signing_key_id}`,
    ),
    labelled(
      indent,
      'poll',
      `${h.poll_state}${h.poll_reason ? ` (${h.poll_reason})` : ''}, ${h.poll_duration_ms} ms, ${h.poll_varbinds_received}/${h.poll_varbinds_requested} varbinds, ${h.poll_bytes_collected} bytes collected, interval ${h.interval_s} s`,
    ),
    labelled(
      indent,
      'rates',
      `${h.rate_state}${h.previous_observed_at_ns === null ? '' : `, against the sample of ${isoOfNs(h.previous_observed_at_ns as bigint)}`}`,
    ),
  ];
  if (f.values.length > 0) {
    out.push(`${indent}features (${f.values.length})`);
    out.push(
      ...table(
        ['NAME', 'VALUE', 'UNIT'],
        f.values.map((v) => [
          v.name,
          cut(typeof v.value === 'string' ? JSON.stringify(v.value) : String(v.value), full),
          v.unit,
        ]),
        `${indent}  `,
      ),
    );
  }
  if (f.extra.length > 0) {
    out.push(`${indent}extra (${f.extra.length})`);
    out.push(
      ...table(
        ['NAME', 'LABELS', 'VALUE', 'PER_SECOND', 'UNIT', 'OID'],
        f.extra.map((x) => [
          x.name,
          x.labels,
          cut(x.value, full),
          x.perSecond === null ? '' : String(x.perSecond),
          x.unit,
          x.oid,
        ]),
        `${indent}  `,
      ),
    );
  }
  return out;
}

function payloadLines(p: PayloadView, indent: string, full: boolean): string[] {
  const out: string[] = [];
  const size = p.valueBytes === null ? 'no value (tombstone)' : `${p.valueBytes} bytes`;
  let wire = '';
  if (p.wire?.ok) {
    wire = `; wire format: magic 0, schema id ${p.wire.schemaId}, message indexes [${p.wire.messageIndexes.join(', ')}], header ${p.wire.headerBytes} + payload ${p.wire.payloadBytes} bytes`;
  } else if (p.wire !== undefined) {
    wire = `; not in the wire format (${p.wire.reason})`;
  }
  if (p.valueBytes !== null || p.wire !== undefined) out.push(labelled(indent, 'value', `${size}${wire}`));
  if (p.envelope !== undefined) out.push(...envelopeLines(p.envelope, indent, full));
  if (p.featureRow !== undefined) out.push(...featureLines(p.featureRow, indent, full));
  for (const problem of p.problems) out.push(labelled(indent, 'problem', problem));
  if (p.preview !== undefined) out.push(labelled(indent, 'bytes', p.preview));
  if (full && p.text !== undefined) {
    out.push(`${indent}text format`);
    out.push(...p.text.split('\n').map((line) => `${indent}  ${line}`));
  }
  return out;
}

function originLine(m: InspectedMessage): string {
  const o = m.origin;
  if (o.source === 'kafka') {
    const time = Number.isFinite(o.timestampMs) ? new Date(o.timestampMs).toISOString() : '?';
    return `== ${o.topic}  partition ${o.partition}  offset ${o.offset}  ${time}  key ${o.key ?? '(none)'}`;
  }
  return `== ${o.database}.${o.table}  from ${o.kafkaTopic} partition ${o.kafkaPartition} offset ${o.kafkaOffset}  inserted ${o.insertedAt}`;
}

/** One message as text for people, without a trailing newline. */
export function renderMessage(m: InspectedMessage, options: RenderOptions = {}): string {
  const full = options.full ?? false;
  const out = [originLine(m)];
  if (m.deadLetter !== undefined || m.kind === 'dead_letter') {
    const d = m.deadLetter;
    if (d !== undefined) {
      out.push(labelled('', 'dead letter', `${d.reason}: ${d.message}`));
      const at = d.rejectedAtMs === undefined ? '' : ` at ${new Date(d.rejectedAtMs).toISOString()}`;
      out.push(
        labelled(
          '',
          'rejected',
          `${d.sourceTopic ?? '?'} partition ${d.sourcePartition ?? '?'} offset ${d.sourceOffset ?? '?'}, key ${d.sourceKey ?? '(none)'}${at}`,
        ),
      );
    }
    for (const problem of m.problems) out.push(labelled('', 'problem', problem));
    if (m.original !== undefined) {
      out.push('original (the rejected value, decoded as far as it goes)');
      out.push(...payloadLines(m.original, '  ', full));
    }
  } else {
    out.push(...payloadLines(m, '', full));
  }
  for (const mismatch of m.mismatches) out.push(labelled('', 'mismatch', mismatch));
  return out.join('\n');
}
