/**
 * What `amoskys inspect` shows of one message: where it was read, its framing, and its content
 * decoded as far as it goes. Plain data (bigint, Uint8Array), turned into JSON with toJsonValue.
 */
import type {
  DecodedFlow,
  DecodedMetric,
  DecodedProcess,
  DecodedStatus,
  EnvelopeHeader,
} from '../../core/envelope/index.ts';

/** What a message is. */
export const MessageKind = {
  /** A raw-topic value: a framed, signed UniversalEnvelope. */
  Envelope: 'envelope',
  /** A features-topic value: a framed FeatureRow (or a row of the ClickHouse features table). */
  FeatureRow: 'feature_row',
  /** A dead letter: reason headers (or DLQ columns) and the rejected value. */
  DeadLetter: 'dead_letter',
  /** None of these could be recognised. */
  Unknown: 'unknown',
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

/** Where a message was read. */
export type MessageOrigin =
  | {
      source: 'kafka';
      topic: string;
      partition: number;
      offset: string;
      /** Record timestamp, ms since the epoch. */
      timestampMs: number;
      /** Record key as UTF-8 (the device id on AMOSKYS topics); null when absent. */
      key: string | null;
      headers: Record<string, string>;
    }
  | {
      source: 'clickhouse';
      database: string;
      table: string;
      /** Where the stored copy was read from Kafka (the sink's `kafka_*` columns). */
      kafkaTopic: string;
      kafkaPartition: number;
      kafkaOffset: string;
      /** When the sink inserted the row (UTC, ClickHouse text form). */
      insertedAt: string;
    };

/** The Confluent wire-format header of a value. */
export type WireFormatView =
  | {
      ok: true;
      magic: 0;
      schemaId: number;
      messageIndexes: number[];
      /** Bytes before the protobuf payload. */
      headerBytes: number;
      payloadBytes: number;
    }
  | { ok: false; reason: string; detail: string };

/** Outcome of checking an envelope's signature against the trust store. */
export const SignatureStatus = {
  /** The signature verifies over the bytes as received, under the key its `signing_key_id` names. */
  Verified: 'verified',
  /** The key is trusted, but the signature does not verify: the bytes changed, or another key signed. */
  BadSignature: 'bad_signature',
  /** The trust store has no key of that id (or the envelope names none). */
  UnknownKey: 'unknown_key',
  /** No signature field. */
  Unsigned: 'unsigned',
  /** A signature field that is not one canonical 64-byte field 15, or bytes that are not protobuf. */
  Malformed: 'malformed',
} as const;
export type SignatureStatus = (typeof SignatureStatus)[keyof typeof SignatureStatus];

/** Signature check of one envelope. */
export interface SignatureView {
  status: SignatureStatus;
  /** `signing_key_id` as the envelope states it. */
  keyId: string | undefined;
  /** Words for people. */
  detail: string;
  /**
   * Trust-store facts the processor would reject on even with a good signature: key revoked,
   * retired or not yet valid at the envelope's time, not bound to the device.
   */
  warnings: string[];
}

/** Flags of an envelope worth a reader's attention. */
export const EnvelopeFlag = {
  /**
   * No metric events, and no failed-poll status to explain it: a wrapper (legacy FlowEvent /
   * ProcessEvent only, a heartbeat, an empty envelope) that carries no measurement.
   */
  NoMetrics: 'no_metrics',
  /** Holds legacy FlowEvent or ProcessEvent events. */
  LegacyEvents: 'legacy_events',
  /** No `device_telemetry` payload (unset, or a payload type this reader does not know). */
  NoPayload: 'no_payload',
  /** Events of a type this reader does not know (added by a newer producer). */
  UnknownEvents: 'unknown_events',
  /** Top-level fields this reader does not know (added by a newer producer); kept in the bytes. */
  UnknownFields: 'unknown_fields',
} as const;
export type EnvelopeFlag = (typeof EnvelopeFlag)[keyof typeof EnvelopeFlag];

/** Counts of the events of an envelope, by type. */
export interface EventCounts {
  metric: number;
  status: number;
  flow: number;
  process: number;
  unknown: number;
}

/** A decoded envelope. */
export interface EnvelopeView {
  /** `signature` is omitted here: it is the signature check's business. */
  header: Omit<EnvelopeHeader, 'signature'> & { signatureBytes: number };
  signature: SignatureView;
  device: { id: string; protocol: string; slotStartNs: bigint } | undefined;
  events: EventCounts;
  flags: EnvelopeFlag[];
  statuses: DecodedStatus[];
  metrics: DecodedMetric[];
  flows: DecodedFlow[];
  processes: DecodedProcess[];
}

/** One named value of a feature row. */
export interface FeatureValueView {
  name: string;
  value: number | string | bigint;
  unit: string;
}

/** One value of a feature row's `extra` list. */
export interface ExtraValueView {
  name: string;
  /** `key=value` pairs, comma-separated. */
  labels: string;
  value: string;
  perSecond: number | null;
  unit: string;
  oid: string;
}

/** A feature row, from the topic or from the ClickHouse features table. */
export interface FeatureRowView {
  /** Header columns by their contract / ClickHouse name, in contract order. */
  header: Record<string, string | number | bigint | null>;
  /** Named feature columns that hold a value (absent ones are left out, never 0). */
  values: FeatureValueView[];
  extra: ExtraValueView[];
}

/** Reason and source of a dead letter. */
export interface DeadLetterView {
  reason: string;
  message: string;
  sourceTopic: string | undefined;
  sourcePartition: number | undefined;
  sourceOffset: string | undefined;
  sourceKey: string | undefined;
  /** When the processor rejected it, ms since the epoch. */
  rejectedAtMs: number | undefined;
}

/** A value decoded as far as it goes. */
export interface PayloadView {
  kind: MessageKind;
  /** Bytes of the value; null for a tombstone. */
  valueBytes: number | null;
  wire: WireFormatView | undefined;
  /** True when the value was not framed and was decoded as a bare protobuf instead. */
  bare: boolean;
  envelope: EnvelopeView | undefined;
  featureRow: FeatureRowView | undefined;
  /** Why decoding stopped where it did; empty when everything decoded. */
  problems: string[];
  /** Hex and printable ASCII of the first bytes, when nothing could be decoded. */
  preview: string | undefined;
  /** Protobuf text format of the payload (`--full`). */
  text: string | undefined;
}

/** One inspected message. */
export interface InspectedMessage extends PayloadView {
  origin: MessageOrigin;
  /** For dead letters: reason and source; the rejected value is `original`. */
  deadLetter: DeadLetterView | undefined;
  original: PayloadView | undefined;
  /** ClickHouse rows: stored columns that disagree with the decoded bytes. */
  mismatches: string[];
  /** The value as hex (`--export-json`, or `--json --full`). */
  valueHex: string | undefined;
}
