/**
 * Pure decoding for `amoskys inspect`: message bytes (+ headers or stored columns) and a trust
 * snapshot in, an {@link InspectedMessage} out. Never throws for any bytes: what does not decode
 * is described in `problems`, with a preview of the bytes.
 *
 * Signatures are checked over the bytes as received (verifyEnvelopeBytes), like the processor
 * does; the trust-store facts the processor would also reject on (revoked, retired, not bound to
 * the device) are reported as warnings next to the signature status, not folded into it.
 */
import { keyIsBound, type TrustSnapshot, trustedKey } from '../../core/crypto/index.ts';
import {
  type DecodedTelemetry,
  decodeEnvelope,
  EnvelopeFailure,
  envelopeSchema,
  scanFields,
  verifyEnvelopeBytes,
  WireType,
} from '../../core/envelope/index.ts';
import { decodeFeatureRow, type FeatureRow, featureColumns } from '../../core/features/index.ts';
import { unframe } from '../../core/registry/index.ts';
import type { MetricValue } from '../../core/telemetry/index.ts';
import { DlqHeader } from '../../core/topics/index.ts';
import { textFormatTypes, toTextFormat } from './text-format.ts';
import {
  type DeadLetterView,
  EnvelopeFlag,
  type EnvelopeView,
  type ExtraValueView,
  type FeatureRowView,
  type InspectedMessage,
  MessageKind,
  type MessageOrigin,
  type PayloadView,
  SignatureStatus,
  type SignatureView,
} from './types.ts';

/** What decoding needs besides the bytes. */
export interface DecodeContext {
  /** Keys signatures are checked against (an empty snapshot makes every key `unknown_key`). */
  trust: TrustSnapshot;
  /** "Now" for revocation warnings, ms since the epoch. */
  nowMs: number;
  /** Add the protobuf text format of each payload. @default false */
  full?: boolean;
  /** Add the value as hex. @default false */
  valueHex?: boolean;
}

/** How to read a value: as a given kind, or recognised from its bytes and headers. */
export type KindHint = 'envelope' | 'feature_row' | 'dead_letter' | 'auto';

const nsPerMs = 1_000_000n;
const failedPollStates = new Set(['unreachable', 'auth_failed', 'error']);
const previewBytes = 48;

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} ms` : date.toISOString();
}

/** Hex and printable ASCII of the first bytes of a value. */
export function previewOf(bytes: Uint8Array): string {
  const head = bytes.subarray(0, previewBytes);
  const hex = Buffer.from(head).toString('hex');
  const ascii = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${hex}${bytes.length > previewBytes ? '…' : ''} |${ascii}|`;
}

/**
 * The signature status of envelope bytes (the protobuf payload, after the frame), and the trust
 * facts the processor would reject on besides the signature.
 * @param deviceId the device the envelope is about, for the key-binding warning
 * @param tsNs the envelope's `ts_ns`, for validity-window warnings
 */
export function checkSignature(
  payload: Uint8Array,
  trust: TrustSnapshot,
  options: { deviceId?: string | undefined; tsNs?: bigint | undefined; nowMs: number },
): SignatureView {
  const result = verifyEnvelopeBytes(payload, (id) => trustedKey(trust, id)?.publicKey);
  let status: SignatureStatus;
  let keyId: string | undefined;
  let detail: string;
  if (result.ok) {
    status = SignatureStatus.Verified;
    keyId = result.signingKeyId;
    detail = `verifies under key ${keyId}`;
  } else {
    keyId = result.signingKeyId;
    detail = result.detail;
    switch (result.reason) {
      case EnvelopeFailure.SignatureMissing:
        status = SignatureStatus.Unsigned;
        break;
      case EnvelopeFailure.UnknownKey:
      case EnvelopeFailure.KeyIdMissing:
        status = SignatureStatus.UnknownKey;
        break;
      case EnvelopeFailure.BadSignature:
        status = SignatureStatus.BadSignature;
        break;
      default:
        status = SignatureStatus.Malformed;
        detail = `${result.reason}: ${result.detail}`;
    }
  }
  const warnings: string[] = [];
  const key = keyId === undefined ? undefined : trustedKey(trust, keyId);
  if (key !== undefined) {
    const tsMs = options.tsNs === undefined ? undefined : Number(options.tsNs / nsPerMs);
    if (
      key.revokedAtMs !== undefined &&
      (key.revokedAtMs <= options.nowMs || (tsMs ?? 0) >= key.revokedAtMs)
    ) {
      warnings.push(
        `key ${keyId} was revoked at ${iso(key.revokedAtMs)}${key.revocationReason ? ` (${key.revocationReason})` : ''}`,
      );
    }
    if (tsMs !== undefined && tsMs < key.notBeforeMs) {
      warnings.push(
        `key ${keyId} is valid from ${iso(key.notBeforeMs)}; the envelope was built at ${iso(tsMs)}`,
      );
    }
    if (tsMs !== undefined && key.notAfterMs !== undefined && tsMs >= key.notAfterMs) {
      warnings.push(
        `key ${keyId} was retired at ${iso(key.notAfterMs)}; the envelope was built at ${iso(tsMs)}`,
      );
    }
    if (options.deviceId !== undefined && !keyIsBound(key, options.deviceId)) {
      warnings.push(`key ${keyId} may not sign for device ${options.deviceId}`);
    }
  }
  return { status, keyId, detail, warnings };
}

const knownTopFields = new Set(textFormatTypes.envelope.fieldsArray.map((f) => f.id));
const telemetryType = textFormatTypes.envelope.lookupType('DeviceTelemetry');
const knownTelemetryFields = new Set(telemetryType.fieldsArray.map((f) => f.id));

/** Whether the envelope or its DeviceTelemetry hold field numbers this reader does not know. */
function hasUnknownFields(payload: Uint8Array): boolean {
  const top = scanFields(payload);
  if (!top.ok) return false;
  for (const field of top.fields) {
    if (!knownTopFields.has(field.fieldNumber)) return true;
    if (field.fieldNumber === 5 && field.wireType === WireType.LengthDelimited) {
      const inner = scanFields(payload.subarray(field.valueStart, field.end));
      if (inner.ok && inner.fields.some((f) => !knownTelemetryFields.has(f.fieldNumber))) return true;
    }
  }
  return false;
}

/** Flags of a decoded envelope (see {@link EnvelopeFlag}). */
export function envelopeFlags(
  telemetry: DecodedTelemetry | undefined,
  unknownFields: boolean,
): EnvelopeFlag[] {
  const flags: EnvelopeFlag[] = [];
  if (telemetry === undefined) {
    // An envelope without a payload carries nothing at all: the purest wrapper.
    flags.push(EnvelopeFlag.NoMetrics, EnvelopeFlag.NoPayload);
  } else {
    // A failed poll legitimately has no metrics: its status says why. Anything else without
    // metrics is a wrapper that carries no measurement.
    const explained = telemetry.statuses.some((s) => failedPollStates.has(s.state));
    if (telemetry.metrics.length === 0 && !explained) flags.push(EnvelopeFlag.NoMetrics);
    if (telemetry.flows.length + telemetry.processes.length > 0) flags.push(EnvelopeFlag.LegacyEvents);
    if (telemetry.unknownEvents > 0) flags.push(EnvelopeFlag.UnknownEvents);
  }
  if (unknownFields) flags.push(EnvelopeFlag.UnknownFields);
  return flags;
}

/**
 * Decodes envelope bytes (the protobuf payload, after the frame) and checks their signature.
 * @returns the view, or undefined with the reason when the bytes are not a UniversalEnvelope
 */
export function inspectEnvelope(
  payload: Uint8Array,
  trust: TrustSnapshot,
  nowMs: number,
): { ok: true; envelope: EnvelopeView } | { ok: false; problem: string } {
  const decoded = decodeEnvelope(payload);
  if (!decoded.ok)
    return { ok: false, problem: `not a UniversalEnvelope: ${decoded.reason}: ${decoded.detail}` };
  const { header, telemetry } = decoded.envelope;
  const { signature, ...rest } = header;
  return {
    ok: true,
    envelope: {
      header: { ...rest, signatureBytes: signature.length },
      signature: checkSignature(payload, trust, { deviceId: telemetry?.deviceId, tsNs: header.tsNs, nowMs }),
      device:
        telemetry === undefined
          ? undefined
          : { id: telemetry.deviceId, protocol: telemetry.protocol, slotStartNs: telemetry.timestampNs },
      events: {
        metric: telemetry?.metrics.length ?? 0,
        status: telemetry?.statuses.length ?? 0,
        flow: telemetry?.flows.length ?? 0,
        process: telemetry?.processes.length ?? 0,
        unknown: telemetry?.unknownEvents ?? 0,
      },
      flags: envelopeFlags(telemetry, hasUnknownFields(payload)),
      statuses: telemetry?.statuses ?? [],
      metrics: telemetry?.metrics ?? [],
      flows: telemetry?.flows ?? [],
      processes: telemetry?.processes ?? [],
    },
  };
}

/** A metric value in words: numbers as read, counters exact, strings quoted. */
export function formatMetricValue(value: MetricValue | { kind: 'unknown' }): string {
  switch (value.kind) {
    case 'numeric':
      return String(value.value);
    case 'counter':
      return value.value.toString();
    case 'string':
      return JSON.stringify(value.value);
    default:
      return '(unknown kind)';
  }
}

/** The view of a decoded feature row. */
export function featureRowView(row: FeatureRow): FeatureRowView {
  const values = [];
  for (const column of featureColumns) {
    const value = (row.features as Record<string, number | string | bigint | undefined>)[column.name];
    if (value !== undefined) values.push({ name: column.name, value, unit: column.unit });
  }
  return {
    header: {
      device_id: row.deviceId,
      idempotency_key: row.idempotencyKey,
      slot_start_ns: row.slotStartNs,
      observed_at_ns: row.observedAtNs,
      envelope_ts_ns: row.envelopeTsNs,
      signing_key_id: row.signingKeyId,
      interval_s: row.intervalS,
      poll_state: row.pollState,
      poll_reason: row.pollReason,
      poll_duration_ms: row.pollDurationMs,
      poll_varbinds_requested: row.pollVarbindsRequested,
      poll_varbinds_received: row.pollVarbindsReceived,
      poll_bytes_collected: row.pollBytesCollected,
      rate_state: row.rateState,
      previous_observed_at_ns: row.previousObservedAtNs ?? null,
    },
    values,
    extra: row.extra.map(
      (e): ExtraValueView => ({
        name: e.name,
        labels: e.labels.map((l) => `${l.key}=${l.value}`).join(','),
        value: formatMetricValue(e.value),
        perSecond: e.perSecond ?? null,
        unit: e.unit,
        oid: e.oid,
      }),
    ),
  };
}

/**
 * Which message the protobuf bytes are, from the wire type of their first header field: the
 * envelope starts with varints (`envelope_version`, `ts_ns`), a feature row with strings
 * (`device_id`, `idempotency_key`). Both are message [0] of their file, so the frame cannot tell.
 */
export function sniffKind(payload: Uint8Array): MessageKind {
  const scan = scanFields(payload);
  if (!scan.ok) return MessageKind.Unknown;
  const first = scan.fields.find((f) => f.fieldNumber === 1 || f.fieldNumber === 2);
  if (first !== undefined) {
    return first.wireType === WireType.Varint ? MessageKind.Envelope : MessageKind.FeatureRow;
  }
  // Neither field set (all defaults): an envelope still has its payload and signature.
  if (scan.fields.some((f) => f.fieldNumber === 5 || f.fieldNumber === 15)) return MessageKind.Envelope;
  return MessageKind.Unknown;
}

function emptyPayload(kind: MessageKind, valueBytes: number | null): PayloadView {
  return {
    kind,
    valueBytes,
    wire: undefined,
    bare: false,
    envelope: undefined,
    featureRow: undefined,
    problems: [],
    preview: undefined,
    text: undefined,
  };
}

function decodeAs(kind: MessageKind, payload: Uint8Array, view: PayloadView, ctx: DecodeContext): boolean {
  if (kind === MessageKind.Envelope) {
    const result = inspectEnvelope(payload, ctx.trust, ctx.nowMs);
    if (!result.ok) {
      view.problems.push(result.problem);
      return false;
    }
    view.envelope = result.envelope;
    if (ctx.full) view.text = toTextFormat(payload, textFormatTypes.envelope);
    return true;
  }
  if (kind === MessageKind.FeatureRow) {
    const result = decodeFeatureRow(payload);
    if (!result.ok) {
      view.problems.push(`not a FeatureRow: ${result.detail}`);
      return false;
    }
    view.featureRow = featureRowView(result.row);
    if (ctx.full) view.text = toTextFormat(payload, textFormatTypes.featureRow);
    return true;
  }
  return false;
}

/**
 * Decodes a message value (Confluent frame + protobuf) as far as it goes. A value that is not
 * framed is tried as a bare protobuf of the expected kind (a common producer mistake), and said so.
 * @param expected the kind the topic or table holds; `auto` recognises envelopes and feature rows
 */
export function inspectValue(
  value: Uint8Array | null,
  expected: 'envelope' | 'feature_row' | 'auto',
  ctx: DecodeContext,
): PayloadView {
  const hinted: MessageKind =
    expected === 'envelope'
      ? MessageKind.Envelope
      : expected === 'feature_row'
        ? MessageKind.FeatureRow
        : MessageKind.Unknown;
  if (value === null) {
    const view = emptyPayload(hinted, null);
    view.problems.push('no value (a tombstone)');
    return view;
  }
  const view = emptyPayload(hinted, value.length);
  const framed = unframe(value);
  let payload: Uint8Array;
  if (framed.ok) {
    view.wire = {
      ok: true,
      magic: 0,
      schemaId: framed.schemaId,
      messageIndexes: framed.messageIndexes,
      headerBytes: framed.headerLength,
      payloadBytes: framed.payload.length,
    };
    payload = framed.payload;
  } else {
    view.wire = { ok: false, reason: framed.reason, detail: framed.detail };
    view.problems.push(`not in the Confluent wire format: ${framed.reason}: ${framed.detail}`);
    payload = value;
    view.bare = true;
  }
  const kind = hinted === MessageKind.Unknown ? sniffKind(payload) : hinted;
  view.kind = kind;
  if (
    framed.ok &&
    kind === MessageKind.Envelope &&
    framed.messageIndexes.join(',') !== envelopeSchema.messageIndexes.join(',')
  ) {
    view.problems.push(
      `message indexes [${framed.messageIndexes.join(', ')}] do not name ${envelopeSchema.message}`,
    );
  }
  const decoded = decodeAs(kind, payload, view, ctx);
  if (decoded && view.bare) view.problems.push('decoded as a bare protobuf (no frame)');
  if (!decoded) view.preview = previewOf(value);
  return view;
}

/** The dead-letter headers of a record, or undefined when it has no reason header. */
export function deadLetterFromHeaders(headers: Record<string, string>): DeadLetterView | undefined {
  const reason = headers[DlqHeader.Reason];
  if (reason === undefined) return undefined;
  const number = (text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  };
  return {
    reason,
    message: headers[DlqHeader.Message] ?? '',
    sourceTopic: headers[DlqHeader.SourceTopic],
    sourcePartition: number(headers[DlqHeader.SourcePartition]),
    sourceOffset: headers[DlqHeader.SourceOffset],
    sourceKey: headers[DlqHeader.SourceKey],
    rejectedAtMs: number(headers[DlqHeader.RejectedAtMs]),
  };
}

/**
 * One message, inspected: a dead letter's reason first and then its rejected value decoded as a
 * raw-topic envelope; anything else decoded as the kind given or recognised.
 * @param deadLetter the reason and source of a dead letter when they come from elsewhere than
 *   Kafka headers (ClickHouse dlq columns)
 */
export function inspectMessage(
  origin: MessageOrigin,
  value: Uint8Array | null,
  hint: KindHint,
  ctx: DecodeContext,
  deadLetter?: DeadLetterView,
): InspectedMessage {
  const headers = origin.source === 'kafka' ? origin.headers : {};
  const letter = deadLetter ?? deadLetterFromHeaders(headers);
  const extras = {
    origin,
    deadLetter: undefined as DeadLetterView | undefined,
    original: undefined as PayloadView | undefined,
    mismatches: [] as string[],
    valueHex: ctx.valueHex && value !== null ? Buffer.from(value).toString('hex') : undefined,
  };
  if (hint === 'dead_letter' || (hint === 'auto' && letter !== undefined)) {
    const view = emptyPayload(MessageKind.DeadLetter, value === null ? null : value.length);
    if (letter === undefined)
      view.problems.push(`no ${DlqHeader.Reason} header: not a dead letter of AMOSKYS`);
    // The rejected value is what the processor read from the raw topic: decode it as such.
    const original = inspectValue(value, 'envelope', ctx);
    return { ...view, ...extras, deadLetter: letter, original };
  }
  return { ...inspectValue(value, hint, ctx), ...extras };
}
