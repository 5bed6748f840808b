/**
 * Types of the SNMP collection stage: devices (resolved from the inventory), metric profiles,
 * poll slots and the clock the scheduler runs on. The poll result itself is the shared domain
 * type `DevicePoll` of src/core/telemetry.
 */
import type { DevicePoll } from '../../core/telemetry/index.ts';

/** SNMPv3 authentication protocols (net-snmp spelling). */
export const AuthProtocol = {
  Sha: 'sha',
  Sha224: 'sha224',
  Sha256: 'sha256',
  Sha384: 'sha384',
  Sha512: 'sha512',
} as const;
export type AuthProtocol = (typeof AuthProtocol)[keyof typeof AuthProtocol];

/**
 * SNMPv3 privacy protocols (net-snmp spelling). `aes` is AES-128-CFB (RFC 3826); `aes256b` and
 * `aes256r` are the non-standard Blumenthal and Reeder key extensions of AES-256.
 */
export const PrivProtocol = {
  Aes: 'aes',
  Aes256b: 'aes256b',
  Aes256r: 'aes256r',
  Des: 'des',
} as const;
export type PrivProtocol = (typeof PrivProtocol)[keyof typeof PrivProtocol];

/** SNMPv2c credentials: a community string. */
export interface V2cCredentials {
  version: 'v2c';
  community: string;
}

/** SNMPv3 user-based security. Passphrases are resolved from the environment at load. */
export interface V3Credentials {
  version: 'v3';
  user: string;
  level: 'authNoPriv' | 'authPriv';
  authProtocol: AuthProtocol;
  authPass: string;
  /** Present exactly when `level` is `authPriv`. */
  privProtocol?: PrivProtocol;
  privPass?: string;
}

export type Credentials = V2cCredentials | V3Credentials;

/** One device to poll, with every default applied and secrets resolved. */
export interface Device {
  /** Stable id, `[A-Za-z0-9._:-]+`; the Kafka key and part of the idempotency key. */
  id: string;
  /** IPv4/IPv6 address or host name. */
  address: string;
  /** UDP port. @default 161 */
  port: number;
  credentials: Credentials;
  /** Poll interval, seconds. @default 60 */
  intervalSeconds: number;
  /** Name of the metric profile. @default 'default' */
  profile: string;
  /** Timeout of one SNMP request attempt, ms. @default 1000 */
  timeoutMs: number;
  /** Retransmissions of a request after a timeout. @default 1 */
  retries: number;
  /**
   * Time a poll may take from its scheduled start, ms; always below the interval so two polls
   * of one device never overlap. @default 80 % of the interval, at most 30 000
   */
  deadlineMs: number;
}

/**
 * How a varbind becomes a {@link import('../../core/telemetry/index.ts').MetricValue}:
 * - `string`: OctetString (UTF-8 text as is, other bytes as `0x`-prefixed hex), OID, IpAddress;
 * - `numeric`: Integer32, Gauge32/Unsigned32 and TimeTicks (centiseconds, a time, not a counter:
 *   it resets when the agent restarts, and a rate of it is meaningless);
 * - `decimal`: an OctetString holding a decimal number (UCD laLoad "0.83") read as numeric;
 * - `counter`: Counter32 (bits 32) or Counter64 (bits 64), kept raw as bigint.
 */
export const MetricType = {
  String: 'string',
  Numeric: 'numeric',
  Decimal: 'decimal',
  Counter: 'counter',
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** A metric read with GET from one instance OID. */
export interface ScalarMetricDefinition {
  kind: 'scalar';
  /** snake_case, unique in the profile. */
  name: string;
  /** Instance OID, numeric dotted, e.g. `1.3.6.1.2.1.1.3.0`. */
  oid: string;
  type: MetricType;
  /** e.g. `kilobytes`, `centiseconds`; `''` when dimensionless. */
  unit: string;
  description: string;
}

/** A metric read from every row of a table column, walked with GETBULK. */
export interface ColumnMetricDefinition {
  kind: 'column';
  name: string;
  /** Column OID without instance, e.g. `1.3.6.1.2.1.31.1.1.1.6` (ifHCInOctets). */
  oid: string;
  /** Key of the table in {@link Profile.tables} whose rows and labels it shares. */
  table: string;
  type: MetricType;
  unit: string;
  description: string;
}

export type MetricDefinition = ScalarMetricDefinition | ColumnMetricDefinition;

/** A label of a table row: its index (OID suffix) or the value of another column of the row. */
export type LabelDefinition =
  | { key: string; source: 'index' }
  | { key: string; source: 'column'; oid: string };

/**
 * Rows that share one index (columns of several SNMP tables may share it: ifTable and ifXTable
 * are both indexed by ifIndex). Rows are joined by the index suffix of their OIDs.
 */
export interface TableDefinition {
  description: string;
  labels: LabelDefinition[];
}

/** A named set of metric definitions polled together. */
export interface Profile {
  name: string;
  description: string;
  tables: Record<string, TableDefinition>;
  metrics: MetricDefinition[];
}

/** The slot a poll belongs to. Retries of the slot keep it, and with it the idempotency key. */
export interface SlotInfo {
  /** floor(slot start / interval). */
  slot: bigint;
  /** Interval of the device, seconds. */
  intervalS: number;
  /** Start of the slot, ns since the epoch. */
  slotStartNs: bigint;
}

/** Time source and timers; the scheduler takes one so unit tests can run on a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch (fractions allowed). */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of one poll that do not come from the device. */
export interface PollOptions {
  /** Aborting stops the poll; it resolves at once with what was read so far. */
  signal?: AbortSignal;
  /** Absolute deadline, ms since the epoch; request timeouts and retries are fitted inside it. */
  deadlineAtMs?: number;
  /** @default the system clock */
  clock?: Clock;
  /** Called once when the first request attempt timed out without any byte from the device. */
  onSilent?: () => void;
}

/** Polls one device for one slot; never rejects for device problems. */
export type PollFunction = (
  device: Device,
  profile: Profile,
  slot: SlotInfo,
  options?: PollOptions,
) => Promise<DevicePoll>;

/** Why a slot was not polled. */
export const MissedReason = {
  /**
   * The process was not running when the slot was due: slots between the last one polled before
   * a restart and the first one after, and a slot already due at start that found no permit in
   * what was left of its window.
   */
  Down: 'down',
  /** No free poll permit before the slot's deadline. */
  Overload: 'overload',
  /** The timer fired after the slot's deadline (event loop blocked, process suspended). */
  Late: 'late',
} as const;
export type MissedReason = (typeof MissedReason)[keyof typeof MissedReason];

/** Timing of one emitted poll, ms since the epoch. */
export interface PollTiming {
  /** When the slot was due: slot start + the device's jitter offset. */
  scheduledAtMs: number;
  /** When the poll got a permit and started. */
  startedAtMs: number;
  deadlineAtMs: number;
  /** When the result was handed to `onPoll`. */
  emittedAtMs: number;
}

/** Counters of a scheduler since it was created. */
export interface SchedulerStats {
  /** Polls handed to `onPoll`, by state. */
  polls: Record<DevicePoll['status']['state'], number>;
  /** Slots not polled, by reason. */
  missedSlots: Record<MissedReason, number>;
  /** Polls running now, active and silent. */
  inFlight: number;
  /** Of those, polls waiting on a silent device. */
  silentInFlight: number;
  /** Polls waiting for a permit now. */
  queued: number;
  /** Sum of `bytesCollected` of emitted polls, bytes. */
  bytesCollected: number;
  /** Sum of `varbindsReceived` of emitted polls. */
  varbindsReceived: number;
  /** `onPoll` calls that threw or rejected. */
  onPollErrors: number;
}
