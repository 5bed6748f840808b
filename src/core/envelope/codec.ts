/**
 * Maps one poll (src/core/telemetry) to a signed `UniversalEnvelope` and decoded envelopes back to
 * the domain view. This is the only place protobufjs messages meet domain types.
 *
 * Signing: the envelope is encoded without field 15, those bytes are signed, and field 15 is
 * appended as raw bytes (`0x7a 0x40` + 64 bytes). Verifiers cut field 15 out of what they received
 * and check the rest as is (wire.ts, verify.ts).
 */
import type { Signer } from '../crypto/index.ts';
import {
  type DevicePoll,
  idempotencyKey,
  type Metric,
  type PollState,
  PollState as PollStates,
} from '../telemetry/index.ts';
import { fromUint64, type Long, toUint64, types } from './schema.ts';
import type {
  DecodedEnvelope,
  DecodedFlow,
  DecodedMetric,
  DecodedProcess,
  DecodedStatus,
  DecodedTelemetry,
  DecodeResult,
} from './types.ts';
import { EnvelopeFailure } from './types.ts';
import { appendSignature } from './wire.ts';

/** Value of `envelope_version` this code writes. */
export const ENVELOPE_VERSION = 1;

const stateNumbers = new Map<PollState, number>();
const statesByNumber = new Map<number, PollState>();
for (const state of Object.values(PollStates)) {
  const number = types.DeviceStatusState.values[`STATE_${state.toUpperCase()}`];
  // The domain and the contract must name the same states; a mismatch is a bug caught at load.
  if (number === undefined) throw new Error(`DeviceStatus.State has no STATE_${state.toUpperCase()}`);
  stateNumbers.set(state, number);
  statesByNumber.set(number, state);
}

const uint32Max = 0xffff_ffff;

function uint32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > uint32Max) {
    throw new RangeError(`${what} must be an integer in 0..2^32-1, got ${value}`);
  }
  return value;
}

function metricMessage(metric: Metric, observedAtNs: Long): Record<string, unknown> {
  const base = {
    metricName: metric.name,
    unit: metric.unit,
    oid: metric.oid,
    labels: metric.labels.map((l) => ({ key: l.key, value: l.value })),
  };
  const { value } = metric;
  let body: Record<string, unknown>;
  switch (value.kind) {
    case 'numeric':
      body = { ...base, numericValue: value.value };
      break;
    case 'string':
      body = { ...base, stringValue: value.value };
      break;
    case 'counter': {
      if (value.bits !== 32 && value.bits !== 64) {
        throw new RangeError(`counter ${metric.name}: bits must be 32 or 64, got ${String(value.bits)}`);
      }
      if (value.bits === 32 && (value.value < 0n || value.value > BigInt(uint32Max))) {
        throw new RangeError(`counter ${metric.name}: ${value.value} does not fit 32 bits`);
      }
      body = {
        ...base,
        counterValue: toUint64(value.value, `counter ${metric.name}`),
        counterBits: value.bits,
      };
      break;
    }
    default:
      throw new TypeError(`metric ${metric.name}: unknown value kind ${(value as { kind: unknown }).kind}`);
  }
  return { timestampNs: observedAtNs, metric: body };
}

/**
 * The protobuf bytes of a poll's envelope without the signature field: what gets signed.
 * @throws RangeError/TypeError for values outside the contract (programming errors in the caller).
 */
export function encodeUnsignedEnvelope(poll: DevicePoll, signingKeyId: string, nowNs: bigint): Uint8Array {
  if (signingKeyId === '') throw new RangeError('signing key id must not be empty');
  const observedAtNs = toUint64(poll.observedAtNs, 'observedAtNs');
  const { status } = poll;
  const state = stateNumbers.get(status.state);
  if (state === undefined) throw new RangeError(`unknown poll state ${String(status.state)}`);
  if (!Number.isSafeInteger(status.bytesCollected) || status.bytesCollected < 0) {
    throw new RangeError(`bytesCollected must be a non-negative integer, got ${status.bytesCollected}`);
  }
  const events = poll.metrics.map((m) => metricMessage(m, observedAtNs));
  events.push({
    timestampNs: observedAtNs,
    status: {
      state,
      reason: status.reason,
      // The contract's resolution is a whole millisecond; a measured duration is fractional.
      durationMs: uint32(Math.round(status.durationMs), 'durationMs'),
      varbindsRequested: uint32(status.varbindsRequested, 'varbindsRequested'),
      varbindsReceived: uint32(status.varbindsReceived, 'varbindsReceived'),
      bytesCollected: toUint64(BigInt(status.bytesCollected), 'bytesCollected'),
    },
  });
  const message = {
    envelopeVersion: ENVELOPE_VERSION,
    tsNs: toUint64(nowNs, 'nowNs'),
    idempotencyKey: idempotencyKey(poll),
    signingKeyId,
    deviceTelemetry: {
      deviceId: poll.deviceId,
      protocol: poll.protocol,
      timestampNs: toUint64(poll.slotStartNs, 'slotStartNs'),
      events,
    },
  };
  return types.UniversalEnvelope.encode(message).finish();
}

/** Signs unsigned envelope bytes and appends the signature field. */
export function signEnvelopeBytes(unsigned: Uint8Array, signer: Signer): Uint8Array {
  return appendSignature(unsigned, signer.sign(unsigned));
}

/**
 * The signed `UniversalEnvelope` of one poll: header, one `TelemetryEvent` per metric (timestamp =
 * `observedAtNs`) and one `DeviceStatus` event, signed by `signer`. Deterministic: the same poll,
 * key and `nowNs` always give the same bytes.
 * @param nowNs when the envelope is built, ns since the epoch (`ts_ns`)
 * @throws RangeError/TypeError for values outside the contract (programming errors in the caller).
 */
export function buildSignedEnvelope(poll: DevicePoll, signer: Signer, nowNs: bigint): Uint8Array {
  return signEnvelopeBytes(encodeUnsignedEnvelope(poll, signer.keyId, nowNs), signer);
}

// Shapes of the decoded protobufjs messages this module reads (camelCase names, Longs for 64 bits).
interface PbLabel {
  key: string;
  value: string;
}
interface PbMetric {
  metricName: string;
  value?: 'numericValue' | 'stringValue' | 'counterValue';
  numericValue: number;
  stringValue: string;
  counterValue: Long | number;
  counterBits: number;
  unit: string;
  oid: string;
  labels: PbLabel[];
}
interface PbStatus {
  state: number;
  reason: string;
  durationMs: number;
  varbindsRequested: number;
  varbindsReceived: number;
  bytesCollected: Long | number;
}
interface PbFlow {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: string;
  bytes: Long | number;
  packets: Long | number;
  startNs: Long | number;
  endNs: Long | number;
}
interface PbProcess {
  pid: number;
  ppid: number;
  name: string;
  cmdline: string;
  user: string;
  startNs: Long | number;
  cpuPercent: number;
  memoryBytes: Long | number;
}
interface PbEvent {
  timestampNs: Long | number;
  event?: 'metric' | 'status' | 'flow' | 'process';
  metric?: PbMetric;
  status?: PbStatus;
  flow?: PbFlow;
  process?: PbProcess;
}
interface PbEnvelope {
  envelopeVersion: number;
  tsNs: Long | number;
  idempotencyKey: string;
  signingKeyId: string;
  payload?: 'deviceTelemetry';
  deviceTelemetry?: { deviceId: string; protocol: string; timestampNs: Long | number; events: PbEvent[] };
  signature: Uint8Array;
}

class InvalidValue extends Error {}

function decodeMetric(m: PbMetric, observedAtNs: bigint): DecodedMetric {
  let value: DecodedMetric['value'];
  switch (m.value) {
    case 'numericValue':
      value = { kind: 'numeric', value: m.numericValue };
      break;
    case 'stringValue':
      value = { kind: 'string', value: m.stringValue };
      break;
    case 'counterValue': {
      if (m.counterBits !== 32 && m.counterBits !== 64) {
        throw new InvalidValue(`counter ${m.metricName} has counter_bits ${m.counterBits}, not 32 or 64`);
      }
      value = { kind: 'counter', value: fromUint64(m.counterValue), bits: m.counterBits };
      break;
    }
    default:
      value = { kind: 'unknown' };
  }
  return {
    name: m.metricName,
    value,
    unit: m.unit,
    oid: m.oid,
    labels: m.labels.map((l) => ({ key: l.key, value: l.value })),
    observedAtNs,
  };
}

function decodeStatus(s: PbStatus, observedAtNs: bigint): DecodedStatus {
  const state: DecodedStatus['state'] =
    s.state === 0 ? 'unspecified' : (statesByNumber.get(s.state) ?? 'unknown');
  return {
    state,
    stateNumber: s.state,
    reason: s.reason,
    durationMs: s.durationMs,
    varbindsRequested: s.varbindsRequested,
    varbindsReceived: s.varbindsReceived,
    bytesCollected: Number(fromUint64(s.bytesCollected)),
    observedAtNs,
  };
}

function decodeTelemetry(t: NonNullable<PbEnvelope['deviceTelemetry']>): DecodedTelemetry {
  const out: DecodedTelemetry = {
    deviceId: t.deviceId,
    protocol: t.protocol,
    timestampNs: fromUint64(t.timestampNs),
    metrics: [],
    statuses: [],
    flows: [],
    processes: [],
    unknownEvents: 0,
  };
  for (const event of t.events) {
    const timestampNs = fromUint64(event.timestampNs);
    if (event.event === 'metric' && event.metric) {
      out.metrics.push(decodeMetric(event.metric, timestampNs));
    } else if (event.event === 'status' && event.status) {
      out.statuses.push(decodeStatus(event.status, timestampNs));
    } else if (event.event === 'flow' && event.flow) {
      const f = event.flow;
      out.flows.push({
        srcIp: f.srcIp,
        dstIp: f.dstIp,
        srcPort: f.srcPort,
        dstPort: f.dstPort,
        protocol: f.protocol,
        bytes: fromUint64(f.bytes),
        packets: fromUint64(f.packets),
        startNs: fromUint64(f.startNs),
        endNs: fromUint64(f.endNs),
        timestampNs,
      } satisfies DecodedFlow);
    } else if (event.event === 'process' && event.process) {
      const p = event.process;
      out.processes.push({
        pid: p.pid,
        ppid: p.ppid,
        name: p.name,
        cmdline: p.cmdline,
        user: p.user,
        startNs: fromUint64(p.startNs),
        cpuPercent: p.cpuPercent,
        memoryBytes: fromUint64(p.memoryBytes),
        timestampNs,
      } satisfies DecodedProcess);
    } else {
      out.unknownEvents++;
    }
  }
  return out;
}

/**
 * Decodes envelope bytes (the protobuf payload, after the Confluent framing) into the domain view.
 * Fields unknown to this version of the contract are skipped; events and metric values of unknown
 * kinds are kept as counts and `unknown` values. Never throws for bad input: the result says why.
 * Decoding does not check the signature; see verifyEnvelopeBytes.
 */
export function decodeEnvelope(bytes: Uint8Array): DecodeResult {
  let message: PbEnvelope;
  try {
    message = types.UniversalEnvelope.decode(bytes) as unknown as PbEnvelope;
  } catch (err) {
    return { ok: false, reason: EnvelopeFailure.MalformedProtobuf, detail: (err as Error).message };
  }
  try {
    const envelope: DecodedEnvelope = {
      header: {
        envelopeVersion: message.envelopeVersion,
        tsNs: fromUint64(message.tsNs),
        idempotencyKey: message.idempotencyKey,
        signingKeyId: message.signingKeyId,
        signature: Uint8Array.from(message.signature),
      },
      telemetry:
        message.payload === 'deviceTelemetry' && message.deviceTelemetry
          ? decodeTelemetry(message.deviceTelemetry)
          : undefined,
    };
    return { ok: true, envelope };
  } catch (err) {
    if (err instanceof InvalidValue)
      return { ok: false, reason: EnvelopeFailure.InvalidValue, detail: err.message };
    throw err;
  }
}

/** Result of {@link toDevicePoll}. */
export type ToDevicePollResult = { ok: true; poll: DevicePoll } | { ok: false; detail: string };

/**
 * Rebuilds the poll an envelope was made from: the inverse of {@link buildSignedEnvelope}. Fails
 * (with words, not a throw) for envelopes the producer would not have built: no payload, not
 * exactly one status, metric values of unknown kind, an idempotency key that does not match.
 * `durationMs` comes back rounded to the millisecond, as sent.
 */
export function toDevicePoll(envelope: DecodedEnvelope): ToDevicePollResult {
  const t = envelope.telemetry;
  if (t === undefined) return { ok: false, detail: 'no device_telemetry payload' };
  if (t.protocol !== 'snmp') return { ok: false, detail: `protocol ${t.protocol}` };
  const [status, ...more] = t.statuses;
  if (status === undefined || more.length > 0) {
    return { ok: false, detail: `${t.statuses.length} status events, expected 1` };
  }
  if (status.state === 'unknown' || status.state === 'unspecified') {
    return { ok: false, detail: `status state ${status.stateNumber}` };
  }
  if (t.flows.length + t.processes.length + t.unknownEvents > 0) {
    return { ok: false, detail: 'events other than metrics and status' };
  }
  // The key is "<device_id>/<interval_s>/<slot>"; device ids may themselves contain "/", and
  // line breaks (`s`: without it `.` stops at "\n" and such a device's every poll is refused).
  // Numbers as the producer writes them: "060" would name the same slot under a second key, which
  // deduplication could not see.
  const match = /^(.*)\/(0|[1-9]\d*)\/(0|[1-9]\d*)$/s.exec(envelope.header.idempotencyKey);
  if (match === null || match[1] !== t.deviceId) {
    return {
      ok: false,
      detail: `idempotency key ${envelope.header.idempotencyKey} is not ${t.deviceId}/<interval>/<slot>`,
    };
  }
  const metrics: Metric[] = [];
  for (const m of t.metrics) {
    if (m.value.kind === 'unknown')
      return { ok: false, detail: `metric ${m.name} has no value of a known kind` };
    if (m.observedAtNs !== status.observedAtNs) {
      return { ok: false, detail: `metric ${m.name} was observed at another time than the status` };
    }
    metrics.push({ name: m.name, value: m.value, unit: m.unit, oid: m.oid, labels: m.labels });
  }
  return {
    ok: true,
    poll: {
      deviceId: t.deviceId,
      protocol: 'snmp',
      intervalS: Number(match[2]),
      slot: BigInt(match[3] as string),
      slotStartNs: t.timestampNs,
      observedAtNs: status.observedAtNs,
      metrics,
      status: {
        state: status.state,
        reason: status.reason,
        durationMs: status.durationMs,
        varbindsRequested: status.varbindsRequested,
        varbindsReceived: status.varbindsReceived,
        bytesCollected: status.bytesCollected,
      },
    },
  };
}
