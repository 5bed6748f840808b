/**
 * The default profile: 29 metric definitions from the MIBs every Net-SNMP agent serves.
 *
 * Choices, and why:
 * - CPU comes from the raw tick counters ssCpuRaw* (UCD-SNMP-MIB .2021.11.50+), not from the
 *   percentages ssCpuUser/System/Idle or hrProcessorLoad: those are one-minute averages that do
 *   not exist during the first minute after the agent starts, so a poll right after a restart
 *   would be partial. Rates (and so percentages) are the processor's job.
 * - Interface traffic comes from the 64-bit ifHCInOctets/ifHCOutOctets (IF-MIB ifXTable); the
 *   32-bit ifInOctets wraps in 34 s at 1 Gbit/s. They are joined with ifDescr from ifTable on
 *   ifIndex.
 * - Load averages are laLoad (an OctetString "0.83"), read as numbers; laLoadFloat is an Opaque
 *   float, which net-snmp does not decode.
 * - dskTotal/dskAvail are Integer32 kilobytes: a filesystem above 2 TiB saturates them
 *   (dskTotalHigh/Low exist for that; not in this profile).
 */
import type { Profile } from '../types.ts';

const system = '1.3.6.1.2.1.1';
const ucd = '1.3.6.1.4.1.2021';
const ifEntry = '1.3.6.1.2.1.2.2.1';
const ifXEntry = '1.3.6.1.2.1.31.1.1.1';
const hrStorageEntry = '1.3.6.1.2.1.25.2.3.1';
const dskEntry = `${ucd}.9.1`;

/** The profile polled when a device names none. */
export const defaultProfile: Profile = {
  name: 'default',
  description: 'System group, CPU ticks, load, memory, disks, storage and interfaces of a Net-SNMP agent',
  tables: {
    interfaces: {
      description: 'IF-MIB ifTable joined with ifXTable on ifIndex',
      labels: [
        { key: 'ifIndex', source: 'index' },
        { key: 'ifDescr', source: 'column', oid: `${ifEntry}.2` },
      ],
    },
    storage: {
      description: 'HOST-RESOURCES-MIB hrStorageTable',
      labels: [
        { key: 'hrStorageIndex', source: 'index' },
        { key: 'hrStorageDescr', source: 'column', oid: `${hrStorageEntry}.3` },
      ],
    },
    disks: {
      description: "UCD-SNMP-MIB dskTable (filesystems named by the agent's `disk` directives)",
      labels: [
        { key: 'dskIndex', source: 'index' },
        { key: 'dskPath', source: 'column', oid: `${dskEntry}.2` },
      ],
    },
  },
  metrics: [
    // SNMPv2-MIB system group
    {
      kind: 'scalar',
      name: 'sys_descr',
      oid: `${system}.1.0`,
      type: 'string',
      unit: '',
      description: 'sysDescr',
    },
    {
      kind: 'scalar',
      name: 'sys_uptime',
      oid: `${system}.3.0`,
      type: 'numeric',
      unit: 'centiseconds',
      description: 'sysUpTime: time since the agent (re)started',
    },
    {
      kind: 'scalar',
      name: 'sys_contact',
      oid: `${system}.4.0`,
      type: 'string',
      unit: '',
      description: 'sysContact',
    },
    {
      kind: 'scalar',
      name: 'sys_name',
      oid: `${system}.5.0`,
      type: 'string',
      unit: '',
      description: 'sysName',
    },
    {
      kind: 'scalar',
      name: 'sys_location',
      oid: `${system}.6.0`,
      type: 'string',
      unit: '',
      description: 'sysLocation',
    },
    // UCD-SNMP-MIB systemStats: CPU time in ticks (USER_HZ, 1/100 s on Linux), summed over CPUs
    {
      kind: 'scalar',
      name: 'cpu_raw_user',
      oid: `${ucd}.11.50.0`,
      type: 'counter',
      unit: 'ticks',
      description: 'ssCpuRawUser',
    },
    {
      kind: 'scalar',
      name: 'cpu_raw_nice',
      oid: `${ucd}.11.51.0`,
      type: 'counter',
      unit: 'ticks',
      description: 'ssCpuRawNice',
    },
    {
      kind: 'scalar',
      name: 'cpu_raw_system',
      oid: `${ucd}.11.52.0`,
      type: 'counter',
      unit: 'ticks',
      description: 'ssCpuRawSystem',
    },
    {
      kind: 'scalar',
      name: 'cpu_raw_idle',
      oid: `${ucd}.11.53.0`,
      type: 'counter',
      unit: 'ticks',
      description: 'ssCpuRawIdle',
    },
    {
      kind: 'scalar',
      name: 'cpu_raw_wait',
      oid: `${ucd}.11.54.0`,
      type: 'counter',
      unit: 'ticks',
      description: 'ssCpuRawWait (I/O wait)',
    },
    // UCD-SNMP-MIB laTable: rows 1, 2, 3 are the 1, 5 and 15 minute load averages
    {
      kind: 'scalar',
      name: 'load_avg_1min',
      oid: `${ucd}.10.1.3.1`,
      type: 'decimal',
      unit: '',
      description: 'laLoad.1',
    },
    {
      kind: 'scalar',
      name: 'load_avg_5min',
      oid: `${ucd}.10.1.3.2`,
      type: 'decimal',
      unit: '',
      description: 'laLoad.2',
    },
    {
      kind: 'scalar',
      name: 'load_avg_15min',
      oid: `${ucd}.10.1.3.3`,
      type: 'decimal',
      unit: '',
      description: 'laLoad.3',
    },
    // UCD-SNMP-MIB memory
    {
      kind: 'scalar',
      name: 'mem_total_real',
      oid: `${ucd}.4.5.0`,
      type: 'numeric',
      unit: 'kilobytes',
      description: 'memTotalReal',
    },
    {
      kind: 'scalar',
      name: 'mem_avail_real',
      oid: `${ucd}.4.6.0`,
      type: 'numeric',
      unit: 'kilobytes',
      description: 'memAvailReal',
    },
    {
      kind: 'scalar',
      name: 'mem_buffer',
      oid: `${ucd}.4.14.0`,
      type: 'numeric',
      unit: 'kilobytes',
      description: 'memBuffer',
    },
    {
      kind: 'scalar',
      name: 'mem_cached',
      oid: `${ucd}.4.15.0`,
      type: 'numeric',
      unit: 'kilobytes',
      description: 'memCached',
    },
    {
      kind: 'scalar',
      name: 'mem_total_swap',
      oid: `${ucd}.4.3.0`,
      type: 'numeric',
      unit: 'kilobytes',
      description: 'memTotalSwap',
    },
    {
      kind: 'scalar',
      name: 'mem_avail_swap',
      oid: `${ucd}.4.4.0`,
      type: 'numeric',
      unit: 'kilobytes',
      description: 'memAvailSwap',
    },
    // UCD-SNMP-MIB dskTable
    {
      kind: 'column',
      name: 'disk_total',
      oid: `${dskEntry}.6`,
      table: 'disks',
      type: 'numeric',
      unit: 'kilobytes',
      description: 'dskTotal',
    },
    {
      kind: 'column',
      name: 'disk_avail',
      oid: `${dskEntry}.7`,
      table: 'disks',
      type: 'numeric',
      unit: 'kilobytes',
      description: 'dskAvail',
    },
    // HOST-RESOURCES-MIB hrStorageTable: sizes are in allocation units of the row
    {
      kind: 'column',
      name: 'storage_allocation_units',
      oid: `${hrStorageEntry}.4`,
      table: 'storage',
      type: 'numeric',
      unit: 'bytes',
      description: 'hrStorageAllocationUnits',
    },
    {
      kind: 'column',
      name: 'storage_size',
      oid: `${hrStorageEntry}.5`,
      table: 'storage',
      type: 'numeric',
      unit: 'allocation_units',
      description: 'hrStorageSize',
    },
    {
      kind: 'column',
      name: 'storage_used',
      oid: `${hrStorageEntry}.6`,
      table: 'storage',
      type: 'numeric',
      unit: 'allocation_units',
      description: 'hrStorageUsed',
    },
    // IF-MIB
    {
      kind: 'column',
      name: 'if_hc_in_octets',
      oid: `${ifXEntry}.6`,
      table: 'interfaces',
      type: 'counter',
      unit: 'bytes',
      description: 'ifHCInOctets',
    },
    {
      kind: 'column',
      name: 'if_hc_out_octets',
      oid: `${ifXEntry}.10`,
      table: 'interfaces',
      type: 'counter',
      unit: 'bytes',
      description: 'ifHCOutOctets',
    },
    {
      kind: 'column',
      name: 'if_in_errors',
      oid: `${ifEntry}.14`,
      table: 'interfaces',
      type: 'counter',
      unit: 'packets',
      description: 'ifInErrors',
    },
    {
      kind: 'column',
      name: 'if_out_errors',
      oid: `${ifEntry}.20`,
      table: 'interfaces',
      type: 'counter',
      unit: 'packets',
      description: 'ifOutErrors',
    },
    {
      kind: 'column',
      name: 'if_oper_status',
      oid: `${ifEntry}.8`,
      table: 'interfaces',
      type: 'numeric',
      unit: '',
      description:
        'ifOperStatus: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6 notPresent, 7 lowerLayerDown',
    },
  ],
};
