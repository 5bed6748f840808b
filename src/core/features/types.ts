/**
 * Hand-written domain types of a feature row (the value of amoskys.telemetry.features.v1). The
 * processor builds them, the ClickHouse sink reads them; protobufjs messages stay in codec.ts.
 */
import type { Label, MetricValue, PollState } from '../telemetry/index.ts';
import type { FeatureValues } from './columns.ts';

/** Whether a row's rates could be derived, for the device as a whole. */
export const RateState = {
  /**
   * Rates were derived against the previous sample. A counter can still lack a rate: its series is
   * new, it was reset, or its own previous value is older than the gap limit.
   */
  Ok: 'ok',
  /** No earlier sample of the device. */
  FirstSample: 'first_sample',
  /** sysUpTime went back or did not advance with the clock: the agent restarted in between. */
  AgentRestart: 'agent_restart',
  /** The previous sample is older than the gap limit. */
  Gap: 'gap',
  /** Observed at or before the latest sample already applied. */
  OutOfOrder: 'out_of_order',
} as const;
export type RateState = (typeof RateState)[keyof typeof RateState];

/**
 * A value of an extra metric: the domain's kinds, or `unknown` when a newer writer used a value
 * kind this reader does not know.
 */
export type ExtraMetricValue = MetricValue | { kind: 'unknown' };

/** One value that no named column holds exactly: a table row, or a metric of another profile. */
export interface ExtraMetric {
  name: string;
  /** Index labels of the table row, in profile order; empty for scalars. */
  labels: Label[];
  value: ExtraMetricValue;
  /** Per-second rate of a counter value; undefined when there is none (never NaN). */
  perSecond: number | undefined;
  unit: string;
  /** Numeric dotted OID the value was read from, instance included. */
  oid: string;
}

/** One flattened poll: the domain form of `amoskys.telemetry.v1.FeatureRow`. */
export interface FeatureRow {
  deviceId: string;
  /** `<device_id>/<interval_s>/<slot>` of the envelope. */
  idempotencyKey: string;
  /** Start of the poll slot, ns since the epoch. */
  slotStartNs: bigint;
  /** When the values were read (poll start), ns since the epoch. */
  observedAtNs: bigint;
  /** `ts_ns` of the envelope, ns since the epoch. */
  envelopeTsNs: bigint;
  signingKeyId: string;
  /** Poll interval, seconds. */
  intervalS: number;
  /** `unknown` only when decoding a row from a newer writer with a state this reader lacks. */
  pollState: PollState | 'unknown';
  pollReason: string;
  /** Milliseconds, whole. */
  pollDurationMs: number;
  pollVarbindsRequested: number;
  pollVarbindsReceived: number;
  /** Bytes; exact below 2^53. */
  pollBytesCollected: number;
  /** `unknown` only when decoding a row from a newer writer. */
  rateState: RateState | 'unknown';
  /** When the sample the rates were derived against was observed; undefined without rates. */
  previousObservedAtNs: bigint | undefined;
  /** The named columns (29 features and 9 rates); a missing key is an absent value. */
  features: FeatureValues;
  /** Every value no named column holds exactly, in the order of the poll. */
  extra: ExtraMetric[];
}

/** Result of decodeFeatureRow: never a throw for bad bytes. */
export type FeatureRowDecodeResult = { ok: true; row: FeatureRow } | { ok: false; detail: string };
