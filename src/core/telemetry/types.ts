/**
 * Hand-written domain types of one poll, shared by the SNMP collector (which fills them) and the
 * envelope codec (which maps them to the protobuf contract in schemas/proto). Generated protobuf
 * code never leaks past the codec.
 */

/** A value as read from the device. Counters stay raw; rates are the processor's job. */
export type MetricValue =
  | { kind: 'numeric'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'counter'; value: bigint; bits: 32 | 64 };

/** One index label of a table row, e.g. `{ key: 'ifDescr', value: 'eth0' }`. */
export interface Label {
  key: string;
  value: string;
}

/** One value read from a device. */
export interface Metric {
  /** Stable snake_case name, e.g. `if_in_octets`. */
  name: string;
  value: MetricValue;
  /** e.g. `bytes`, `percent`, `centiseconds`; `''` when dimensionless. */
  unit: string;
  /** Numeric dotted OID the value was read from, instance included. */
  oid: string;
  /** Index labels of table rows, in profile order; empty for scalars. */
  labels: Label[];
}

/** Outcome of a poll. */
export const PollState = {
  Ok: 'ok',
  Partial: 'partial',
  Unreachable: 'unreachable',
  AuthFailed: 'auth_failed',
  Error: 'error',
} as const;
export type PollState = (typeof PollState)[keyof typeof PollState];

export interface PollStatus {
  state: PollState;
  /** Why, when not ok. */
  reason: string;
  durationMs: number;
  varbindsRequested: number;
  varbindsReceived: number;
  /** Size of the SNMP responses received, bytes. */
  bytesCollected: number;
}

/** Everything one poll of one device produced: the input of the envelope builder. */
export interface DevicePoll {
  deviceId: string;
  protocol: 'snmp';
  /** Poll interval of the device, seconds; part of the idempotency key. */
  intervalS: number;
  /** Slot number: floor(slot start / interval). Retries of the same slot keep it. */
  slot: bigint;
  /** Start of the slot, ns since the epoch (= slot × interval). */
  slotStartNs: bigint;
  /** When the values were read, ns since the epoch. */
  observedAtNs: bigint;
  metrics: Metric[];
  status: PollStatus;
}

/** The idempotency key of a device's poll slot: `<device_id>/<interval_s>/<slot>`. */
export function idempotencyKey(poll: Pick<DevicePoll, 'deviceId' | 'intervalS' | 'slot'>): string {
  return `${poll.deviceId}/${poll.intervalS}/${poll.slot}`;
}
