/**
 * Types of the ClickHouse sink stage (raw, features and DLQ topics -> ClickHouse tables).
 */
export { DlqHeader } from '../../core/topics/index.ts';

/** Where a message was read: topic, partition, offset (a decimal string: offsets are int64). */
export interface SourceCoordinates {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Why a message produced no row. Only raw-topic messages are ever skipped, and each of them is
 * in the DLQ table with the processor's reason: the archive holds verified envelopes only.
 */
export const SkipReason = {
  /** Not a framed, decodable message (tombstone, framing, protobuf). */
  Undecodable: 'undecodable',
  /** Decodes, but carries no device payload to store. */
  NoTelemetry: 'no_telemetry',
  /** The signature does not verify under a trusted key bound to the device. */
  Unverified: 'unverified',
  /** Signed, but breaks the envelope contract (checkContract): the processor's `invalid_values`. */
  InvalidValues: 'invalid_values',
  /** Signed, but its slot start is beyond what a ClickHouse DateTime holds (after 2106). */
  OutOfRange: 'out_of_range',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** The tables the sink writes. */
export const SinkTable = {
  Raw: 'raw_envelopes',
  Metrics: 'metrics',
  Features: 'features',
  Dlq: 'dlq',
} as const;
export type SinkTable = (typeof SinkTable)[keyof typeof SinkTable];

/** Totals since start, for health, progress and tests. */
export interface SinkStats {
  /** Messages whose rows were acknowledged by ClickHouse and whose offsets were committed, by topic role. */
  messages: { raw: number; features: number; dlq: number };
  /** Rows acknowledged, by table. */
  rows: Record<SinkTable, number>;
  /** Raw-topic messages that produced no row, by reason. */
  skipped: Record<string, number>;
  /** Inserts that ClickHouse acknowledged. */
  inserts: number;
  /** Inserts that failed and were retried. */
  insertFailures: number;
  /** Whether consumption is paused because ClickHouse does not accept inserts. */
  paused: boolean;
  /** Assigned partitions, as `topic:partition`. */
  partitions: string[];
}
