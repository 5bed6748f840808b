/** Input and output shapes of `amoskys analyze` (definitions in reconcile.ts, bytes.ts, completeness.ts). */
import type { TimeWindow } from '../timeline/index.ts';

/** One message of the raw topic, as read: its coordinates and the idempotency key it carries. */
export interface TopicMessage {
  readonly partition: number;
  readonly offset: bigint;
  /** Kafka record key (the device id), UTF-8; `null` when absent. */
  readonly kafkaKey: string | null;
  /** `UniversalEnvelope.idempotency_key`; `null` when the value is not a readable envelope. */
  readonly idempotencyKey: string | null;
  /** Kafka record timestamp, ms since the epoch. */
  readonly timestampMs: number;
}

/** A dead letter of a raw-topic message, by its source coordinates. */
export interface DeadLetter {
  readonly partition: number;
  readonly offset: bigint;
  readonly reason: string;
}

/** How a raw-topic message ended. */
export const MessageFate = {
  /** Its key is in `features` and `raw_envelopes`, and no earlier message carried it. */
  Stored: 'stored',
  /** A dead letter names its coordinates. */
  Rejected: 'rejected',
  /** Its key is stored and an earlier message (not rejected) carried it: dropped by deduplication. */
  Duplicate: 'duplicate',
  /** Its key is in only one of `features` and `raw_envelopes`: stored incompletely. */
  Partial: 'partial',
  /** Neither stored nor dead-lettered: lost (or not processed yet). */
  Missing: 'missing',
} as const;
export type MessageFate = (typeof MessageFate)[keyof typeof MessageFate];

/** Reconciliation counts, for all devices or one. */
export interface ReconcileCounts {
  /** Raw-topic messages in the window. */
  produced: number;
  stored: number;
  rejected: number;
  duplicates: number;
  partial: number;
  missing: number;
  /** Keys stored in ClickHouse in the window that no message read from the topic carried. */
  notOnTopic: number;
}

/** Per-device reconciliation. */
export interface DeviceReconcile extends ReconcileCounts {
  readonly deviceId: string;
}

/** A message that was lost or stored incompletely, for the operator to look up. */
export interface LostMessage {
  readonly partition: number;
  readonly offset: string;
  readonly deviceId: string;
  readonly idempotencyKey: string | null;
  readonly fate: typeof MessageFate.Missing | typeof MessageFate.Partial;
  /** What is there: `in neither table`, `in features only`, `in raw_envelopes only`, `no readable key`. */
  readonly detail: string;
}

/** The reconciliation of the raw topic against ClickHouse. */
export interface Reconciliation extends ReconcileCounts {
  /** `produced = stored + rejected + duplicates` (no message missing or partial). */
  readonly reconciled: boolean;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  /** Messages read whose slot (or, without a key, timestamp) lies outside the window. */
  readonly outsideWindow: number;
  readonly devices: readonly DeviceReconcile[];
  /** The first lost or partial messages (at most `sampleSize`). */
  readonly lost: readonly LostMessage[];
  /** The first keys stored but not on the topic (at most `sampleSize`). */
  readonly notOnTopicKeys: readonly string[];
}

/** One stored envelope with the sizes the bytes check compares. */
export interface EnvelopeSizes {
  readonly idempotencyKey: string;
  readonly deviceId: string;
  /** `features.poll_state`. */
  readonly pollState: string;
  /** `features.poll_bytes_collected`: bytes of SNMP responses, per the producer. */
  readonly collectedBytes: number;
  /** `length(raw_envelopes.bytes)`: the archived message value; `null` without a raw row. */
  readonly storedBytes: number | null;
  /** `raw_envelopes.metric_count`: metrics the envelope carried; `null` without a raw row. */
  readonly metricCount: number | null;
  /** Rows in `metrics` for the key. */
  readonly metricRows: number;
}

/** Why a stored envelope raises an alarm. */
export const BytesAlarmKind = {
  /** `stored / collected` below the threshold: the 162-of-1,165-bytes failure. */
  LowRatio: 'low_ratio',
  /** The poll answered (`ok`/`partial`) but no metric row is stored. */
  NoMetrics: 'no_metrics',
  /** Fewer metric rows than the envelope carried. */
  MetricsLost: 'metrics_lost',
} as const;
export type BytesAlarmKind = (typeof BytesAlarmKind)[keyof typeof BytesAlarmKind];

export interface BytesAlarm {
  readonly kind: BytesAlarmKind;
  readonly idempotencyKey: string;
  readonly deviceId: string;
  readonly collectedBytes: number;
  readonly storedBytes: number | null;
  readonly metricCount: number | null;
  readonly metricRows: number;
}

/** Bytes per device. */
export interface DeviceBytes {
  readonly deviceId: string;
  readonly envelopes: number;
  readonly collectedBytes: number;
  readonly storedBytes: number;
  readonly metricRows: number;
  /** `storedBytes / collectedBytes` over envelopes with both; `null` when nothing was collected. */
  readonly ratio: number | null;
  /** The smallest per-envelope ratio. */
  readonly minRatio: number | null;
  readonly alarms: number;
}

/** Bytes collected vs stored. */
export interface BytesReport {
  /** Threshold of the low-ratio alarm. */
  readonly minRatio: number;
  readonly envelopes: number;
  readonly collectedBytes: number;
  readonly storedBytes: number;
  readonly metricRows: number;
  readonly ratio: number | null;
  readonly alarms: number;
  readonly alarmsByKind: Readonly<Record<BytesAlarmKind, number>>;
  readonly devices: readonly DeviceBytes[];
  /** The first alarms (at most `sampleSize`). */
  readonly alarmSample: readonly BytesAlarm[];
}

/** Feature presence of one device, as counted by ClickHouse. */
export interface FeatureCounts {
  readonly deviceId: string;
  /** Rows in `features`. */
  readonly polls: number;
  /** Rows whose poll answered (`ok` or `partial`): the denominator of presence. */
  readonly answered: number;
  /** Per named feature: answered rows where it is not NULL. */
  readonly present: Readonly<Record<string, number>>;
}

/** Metric completeness (ML readiness) of one device. */
export interface DeviceCompleteness {
  readonly deviceId: string;
  readonly polls: number;
  readonly answered: number;
  /** Mean presence over the named features; `null` without an answered poll. */
  readonly completeness: number | null;
  /** Features never present in an answered poll. */
  readonly missing: readonly string[];
  /** Features present in some answered polls only, with their share. */
  readonly sparse: readonly { readonly name: string; readonly share: number }[];
}

/** A metric name seen in `metrics`. */
export interface MetricNameSeen {
  readonly name: string;
  readonly rows: number;
  readonly devices: number;
  readonly envelopes: number;
}

/** Everything `amoskys analyze` reports. */
export interface AnalyzeReport {
  readonly window: TimeWindow;
  readonly rawTopic: string;
  readonly database: string;
  readonly deviceId: string | null;
  /** Topic offsets read: `[start, end)` per partition. */
  readonly partitions: readonly {
    readonly partition: number;
    readonly start: string;
    readonly end: string;
  }[];
  readonly reconciliation: Reconciliation;
  readonly bytes: BytesReport;
  readonly completeness: readonly DeviceCompleteness[];
  readonly metricNames: readonly MetricNameSeen[];
  /** 0 reconciled and no alarm; 1 loss or an alarm. */
  readonly exitCode: 0 | 1;
  /** Why the exit code is 1, for people. Empty when 0. */
  readonly problems: readonly string[];
}
