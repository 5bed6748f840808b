/**
 * Domain view of a decoded `UniversalEnvelope`. uint64 fields are bigint (exact); protobufjs
 * messages and Longs never leave this module.
 */
import type { Label, MetricValue, PollState } from '../telemetry/index.ts';

/**
 * Why envelope bytes were not accepted. One closed list for scanning, signature checks and
 * decoding, so a dead-letter reason is always one of these strings.
 */
export const EnvelopeFailure = {
  /** The bytes end inside a field. */
  Truncated: 'truncated',
  /** A varint longer than 10 bytes or larger than 64 bits. */
  VarintOverflow: 'varint_overflow',
  /** A group (wire type 3 or 4); the contract has none. */
  GroupWireType: 'group_wire_type',
  /** Wire type 6 or 7. */
  InvalidWireType: 'invalid_wire_type',
  /** Field number 0 or above 2^29 - 1. */
  InvalidFieldNumber: 'invalid_field_number',
  /** No top-level field 15. */
  SignatureMissing: 'signature_missing',
  /** More than one top-level field 15. */
  SignatureDuplicated: 'signature_duplicated',
  /** Field 15 is not `0x7a 0x40` + 64 bytes. */
  SignatureMalformed: 'signature_malformed',
  /** No readable `signing_key_id`. */
  KeyIdMissing: 'key_id_missing',
  /** The trust store has no public key for the key id. */
  UnknownKey: 'unknown_key',
  /** The signature does not verify over the received bytes. */
  BadSignature: 'bad_signature',
  /** protobufjs could not decode the bytes as a `UniversalEnvelope`. */
  MalformedProtobuf: 'malformed_protobuf',
  /** A decoded value breaks the contract, e.g. a counter whose `counter_bits` is not 32 or 64. */
  InvalidValue: 'invalid_value',
} as const;
export type EnvelopeFailure = (typeof EnvelopeFailure)[keyof typeof EnvelopeFailure];

/** A failure with a reason code and words for people. */
export interface EnvelopeFailureResult {
  ok: false;
  reason: EnvelopeFailure;
  detail: string;
}

/** Top-level fields of an envelope. */
export interface EnvelopeHeader {
  envelopeVersion: number;
  /** When the envelope was built, ns since the epoch. */
  tsNs: bigint;
  idempotencyKey: string;
  signingKeyId: string;
  /** 64 bytes in a signed envelope; empty when absent. */
  signature: Uint8Array;
}

/**
 * A metric value as decoded: the domain's kinds, or `unknown` when the value oneof is unset (a
 * value kind added by a newer producer, which this reader cannot interpret but must not drop).
 */
export type DecodedMetricValue = MetricValue | { kind: 'unknown' };

/** One metric event. */
export interface DecodedMetric {
  name: string;
  value: DecodedMetricValue;
  unit: string;
  oid: string;
  labels: Label[];
  /** Event timestamp: when the value was read, ns since the epoch. */
  observedAtNs: bigint;
}

/** One status event. */
export interface DecodedStatus {
  /** `unspecified` for STATE_UNSPECIFIED, `unknown` for a number this reader does not know. */
  state: PollState | 'unspecified' | 'unknown';
  /** The enum number as sent. */
  stateNumber: number;
  reason: string;
  durationMs: number;
  varbindsRequested: number;
  varbindsReceived: number;
  /** Bytes; exact below 2^53. */
  bytesCollected: number;
  /** Event timestamp, ns since the epoch. */
  observedAtNs: bigint;
}

/** Legacy `FlowEvent`. */
export interface DecodedFlow {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: string;
  bytes: bigint;
  packets: bigint;
  startNs: bigint;
  endNs: bigint;
  /** Event timestamp, ns since the epoch. */
  timestampNs: bigint;
}

/** Legacy `ProcessEvent`. */
export interface DecodedProcess {
  pid: number;
  ppid: number;
  name: string;
  cmdline: string;
  user: string;
  startNs: bigint;
  cpuPercent: number;
  memoryBytes: bigint;
  /** Event timestamp, ns since the epoch. */
  timestampNs: bigint;
}

/** The `DeviceTelemetry` payload, events grouped by type in the order they were sent. */
export interface DecodedTelemetry {
  deviceId: string;
  protocol: string;
  /** Start of the poll slot, ns since the epoch. */
  timestampNs: bigint;
  metrics: DecodedMetric[];
  /** Envelopes from the producer hold exactly one. */
  statuses: DecodedStatus[];
  flows: DecodedFlow[];
  processes: DecodedProcess[];
  /** Events whose type this reader does not know (added by a newer producer). */
  unknownEvents: number;
}

/** A decoded envelope. */
export interface DecodedEnvelope {
  header: EnvelopeHeader;
  /** Undefined when the payload oneof is unset (or holds a type added after this reader). */
  telemetry: DecodedTelemetry | undefined;
}

/** Result of decodeEnvelope. */
export type DecodeResult = { ok: true; envelope: DecodedEnvelope } | EnvelopeFailureResult;
