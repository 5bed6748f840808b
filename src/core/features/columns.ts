/**
 * The named feature columns of a feature row: one per metric definition of the default SNMP
 * profile (src/producers/snmp/profiles/default.ts), plus a per-second rate for every counter.
 * One catalogue for the protobuf contract (schemas/proto/amoskys/telemetry/v1/features.proto,
 * checked against it by a unit test), the processor's flatten step, the ClickHouse sink's columns
 * and docs/features.md.
 */

/** Type of a column in the contract (protobuf scalar type; ClickHouse maps it to a Nullable type). */
export const FeatureType = {
  String: 'string',
  Double: 'double',
  Uint64: 'uint64',
  Uint32: 'uint32',
} as const;
export type FeatureType = (typeof FeatureType)[keyof typeof FeatureType];

/** How a column is computed from the metrics of one poll. */
export const Aggregation = {
  /** A scalar metric: its value as read. */
  Value: 'value',
  /** A numeric table column: the sum over its rows. */
  Sum: 'sum',
  /**
   * A counter table column: the sum of the rows' raw counters modulo 2^bits, itself a counter of
   * that width (its increase is the sum of the rows' increases while no row resets or appears).
   */
  CounterSum: 'counter_sum',
  /** hrStorageTable, filesystem rows (hrStorageIndex > 30): the largest value. */
  FilesystemMax: 'filesystem_max',
  /** hrStorageTable, filesystem rows: the sum of value × hrStorageAllocationUnits, bytes. */
  FilesystemBytesSum: 'filesystem_bytes_sum',
  /** ifOperStatus: how many rows are up(1). */
  CountUp: 'count_up',
  /** A scalar counter: its per-second rate. */
  Rate: 'rate',
  /** A counter table column: the sum of the rows' per-second rates, when every row has one. */
  RateSum: 'rate_sum',
} as const;
export type Aggregation = (typeof Aggregation)[keyof typeof Aggregation];

/** Kind of the source metric's value (MetricValue kind). */
export type SourceKind = 'numeric' | 'string' | 'counter';

/** One named column. */
export interface FeatureColumn {
  /** Column name: the protobuf field and the ClickHouse column. Named after its source metric. */
  readonly name: string;
  /** Protobuf field number in FeatureRow. */
  readonly field: number;
  readonly type: FeatureType;
  /** Unit of the column's value; `''` when dimensionless. */
  readonly unit: string;
  /** Name of the source metric in the profile. */
  readonly source: string;
  /** Kind of the source metric's values; values of another kind are left to `extra`. */
  readonly sourceKind: SourceKind;
  /** Unit of the source metric; values with another unit are left to `extra`. */
  readonly sourceUnit: string;
  /** Width of a counter source; counters of another width are left to `extra`. */
  readonly sourceBits?: 32 | 64;
  /** Profile table of a column metric; absent for scalars. */
  readonly table?: string;
  readonly aggregation: Aggregation;
  /** One line for people (docs, ClickHouse column comments). */
  readonly description: string;
}

const scalar = { sourceKind: 'numeric', aggregation: Aggregation.Value, type: FeatureType.Double } as const;
const text = { sourceKind: 'string', aggregation: Aggregation.Value, type: FeatureType.String } as const;
const cpu = {
  sourceKind: 'counter',
  sourceBits: 32,
  aggregation: Aggregation.Value,
  type: FeatureType.Uint64,
  unit: 'ticks',
  sourceUnit: 'ticks',
} as const;
const cpuRate = {
  ...cpu,
  aggregation: Aggregation.Rate,
  type: FeatureType.Double,
  unit: 'ticks_per_second',
} as const;
const kb = { ...scalar, unit: 'kilobytes', sourceUnit: 'kilobytes' } as const;
const ifCounter = {
  sourceKind: 'counter',
  aggregation: Aggregation.CounterSum,
  type: FeatureType.Uint64,
  table: 'interfaces',
} as const;
const ifRate = {
  sourceKind: 'counter',
  aggregation: Aggregation.RateSum,
  type: FeatureType.Double,
  table: 'interfaces',
} as const;

/**
 * Every named column, in field-number order: 29 columns named after the metric definitions of the
 * default profile (in profile order), then the 9 rate columns `<counter>_per_second`.
 */
export const featureColumns = [
  {
    ...text,
    name: 'sys_descr',
    field: 20,
    unit: '',
    source: 'sys_descr',
    sourceUnit: '',
    description: 'sysDescr',
  },
  {
    ...scalar,
    name: 'sys_uptime',
    field: 21,
    unit: 'centiseconds',
    source: 'sys_uptime',
    sourceUnit: 'centiseconds',
    description: 'sysUpTime: time since the agent (re)started',
  },
  {
    ...text,
    name: 'sys_contact',
    field: 22,
    unit: '',
    source: 'sys_contact',
    sourceUnit: '',
    description: 'sysContact',
  },
  {
    ...text,
    name: 'sys_name',
    field: 23,
    unit: '',
    source: 'sys_name',
    sourceUnit: '',
    description: 'sysName',
  },
  {
    ...text,
    name: 'sys_location',
    field: 24,
    unit: '',
    source: 'sys_location',
    sourceUnit: '',
    description: 'sysLocation',
  },
  {
    ...cpu,
    name: 'cpu_raw_user',
    field: 25,
    source: 'cpu_raw_user',
    description: 'ssCpuRawUser, raw counter',
  },
  {
    ...cpu,
    name: 'cpu_raw_nice',
    field: 26,
    source: 'cpu_raw_nice',
    description: 'ssCpuRawNice, raw counter',
  },
  {
    ...cpu,
    name: 'cpu_raw_system',
    field: 27,
    source: 'cpu_raw_system',
    description: 'ssCpuRawSystem, raw counter',
  },
  {
    ...cpu,
    name: 'cpu_raw_idle',
    field: 28,
    source: 'cpu_raw_idle',
    description: 'ssCpuRawIdle, raw counter',
  },
  {
    ...cpu,
    name: 'cpu_raw_wait',
    field: 29,
    source: 'cpu_raw_wait',
    description: 'ssCpuRawWait (I/O wait), raw counter',
  },
  {
    ...scalar,
    name: 'load_avg_1min',
    field: 30,
    unit: '',
    source: 'load_avg_1min',
    sourceUnit: '',
    description: 'laLoad.1: 1 minute load average',
  },
  {
    ...scalar,
    name: 'load_avg_5min',
    field: 31,
    unit: '',
    source: 'load_avg_5min',
    sourceUnit: '',
    description: 'laLoad.2: 5 minute load average',
  },
  {
    ...scalar,
    name: 'load_avg_15min',
    field: 32,
    unit: '',
    source: 'load_avg_15min',
    sourceUnit: '',
    description: 'laLoad.3: 15 minute load average',
  },
  { ...kb, name: 'mem_total_real', field: 33, source: 'mem_total_real', description: 'memTotalReal' },
  { ...kb, name: 'mem_avail_real', field: 34, source: 'mem_avail_real', description: 'memAvailReal' },
  { ...kb, name: 'mem_buffer', field: 35, source: 'mem_buffer', description: 'memBuffer' },
  { ...kb, name: 'mem_cached', field: 36, source: 'mem_cached', description: 'memCached' },
  { ...kb, name: 'mem_total_swap', field: 37, source: 'mem_total_swap', description: 'memTotalSwap' },
  { ...kb, name: 'mem_avail_swap', field: 38, source: 'mem_avail_swap', description: 'memAvailSwap' },
  {
    ...kb,
    aggregation: Aggregation.Sum,
    table: 'disks',
    name: 'disk_total',
    field: 39,
    source: 'disk_total',
    description: 'dskTotal summed over the dskTable rows',
  },
  {
    ...kb,
    aggregation: Aggregation.Sum,
    table: 'disks',
    name: 'disk_avail',
    field: 40,
    source: 'disk_avail',
    description: 'dskAvail summed over the dskTable rows',
  },
  {
    ...scalar,
    aggregation: Aggregation.FilesystemMax,
    table: 'storage',
    name: 'storage_allocation_units',
    field: 41,
    unit: 'bytes',
    source: 'storage_allocation_units',
    sourceUnit: 'bytes',
    description: 'hrStorageAllocationUnits: the largest among filesystem rows',
  },
  {
    ...scalar,
    aggregation: Aggregation.FilesystemBytesSum,
    table: 'storage',
    name: 'storage_size',
    field: 42,
    unit: 'bytes',
    source: 'storage_size',
    sourceUnit: 'allocation_units',
    description: 'hrStorageSize × hrStorageAllocationUnits summed over filesystem rows',
  },
  {
    ...scalar,
    aggregation: Aggregation.FilesystemBytesSum,
    table: 'storage',
    name: 'storage_used',
    field: 43,
    unit: 'bytes',
    source: 'storage_used',
    sourceUnit: 'allocation_units',
    description: 'hrStorageUsed × hrStorageAllocationUnits summed over filesystem rows',
  },
  {
    ...ifCounter,
    name: 'if_hc_in_octets',
    sourceBits: 64,
    field: 44,
    unit: 'bytes',
    source: 'if_hc_in_octets',
    sourceUnit: 'bytes',
    description: 'ifHCInOctets summed over interfaces modulo 2^64',
  },
  {
    ...ifCounter,
    name: 'if_hc_out_octets',
    sourceBits: 64,
    field: 45,
    unit: 'bytes',
    source: 'if_hc_out_octets',
    sourceUnit: 'bytes',
    description: 'ifHCOutOctets summed over interfaces modulo 2^64',
  },
  {
    ...ifCounter,
    name: 'if_in_errors',
    sourceBits: 32,
    field: 46,
    unit: 'packets',
    source: 'if_in_errors',
    sourceUnit: 'packets',
    description: 'ifInErrors summed over interfaces modulo 2^32',
  },
  {
    ...ifCounter,
    name: 'if_out_errors',
    sourceBits: 32,
    field: 47,
    unit: 'packets',
    source: 'if_out_errors',
    sourceUnit: 'packets',
    description: 'ifOutErrors summed over interfaces modulo 2^32',
  },
  {
    sourceKind: 'numeric',
    aggregation: Aggregation.CountUp,
    type: FeatureType.Uint32,
    table: 'interfaces',
    name: 'if_oper_status',
    field: 48,
    unit: 'interfaces',
    source: 'if_oper_status',
    sourceUnit: '',
    description: 'number of interfaces whose ifOperStatus is up(1)',
  },
  {
    ...cpuRate,
    name: 'cpu_raw_user_per_second',
    field: 60,
    source: 'cpu_raw_user',
    description: 'rate of ssCpuRawUser',
  },
  {
    ...cpuRate,
    name: 'cpu_raw_nice_per_second',
    field: 61,
    source: 'cpu_raw_nice',
    description: 'rate of ssCpuRawNice',
  },
  {
    ...cpuRate,
    name: 'cpu_raw_system_per_second',
    field: 62,
    source: 'cpu_raw_system',
    description: 'rate of ssCpuRawSystem',
  },
  {
    ...cpuRate,
    name: 'cpu_raw_idle_per_second',
    field: 63,
    source: 'cpu_raw_idle',
    description: 'rate of ssCpuRawIdle',
  },
  {
    ...cpuRate,
    name: 'cpu_raw_wait_per_second',
    field: 64,
    source: 'cpu_raw_wait',
    description: 'rate of ssCpuRawWait',
  },
  {
    ...ifRate,
    name: 'if_hc_in_octets_per_second',
    sourceBits: 64,
    field: 65,
    unit: 'bytes_per_second',
    source: 'if_hc_in_octets',
    sourceUnit: 'bytes',
    description: 'ifHCInOctets rate summed over interfaces',
  },
  {
    ...ifRate,
    name: 'if_hc_out_octets_per_second',
    sourceBits: 64,
    field: 66,
    unit: 'bytes_per_second',
    source: 'if_hc_out_octets',
    sourceUnit: 'bytes',
    description: 'ifHCOutOctets rate summed over interfaces',
  },
  {
    ...ifRate,
    name: 'if_in_errors_per_second',
    sourceBits: 32,
    field: 67,
    unit: 'packets_per_second',
    source: 'if_in_errors',
    sourceUnit: 'packets',
    description: 'ifInErrors rate summed over interfaces',
  },
  {
    ...ifRate,
    name: 'if_out_errors_per_second',
    sourceBits: 32,
    field: 68,
    unit: 'packets_per_second',
    source: 'if_out_errors',
    sourceUnit: 'packets',
    description: 'ifOutErrors rate summed over interfaces',
  },
] as const satisfies readonly FeatureColumn[];

/** Name of a named column. */
export type FeatureName = (typeof featureColumns)[number]['name'];

type ValueOf<T extends FeatureType> = T extends 'string' ? string : T extends 'uint64' ? bigint : number;

/**
 * The named columns of one row, keyed by column name (snake_case, as in the contract and in
 * ClickHouse). A missing key means absent: not collected, or no rate for this sample; never 0.
 * `uint64` columns are bigint (exact), the others number or string.
 */
export type FeatureValues = {
  [C in (typeof featureColumns)[number] as C['name']]?: ValueOf<C['type']>;
};

/** Columns by name. */
export const featureColumnsByName: ReadonlyMap<FeatureName, FeatureColumn> = new Map(
  featureColumns.map((c) => [c.name, c]),
);
