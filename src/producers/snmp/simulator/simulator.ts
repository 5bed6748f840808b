/**
 * Simulated device fleet: N SNMP agents (net-snmp's Agent, one UDP socket each) in one process,
 * each serving the OIDs of the default profile (system group, UCD CPU/memory/load/disk,
 * hrStorageTable, ifTable + ifXTable) with values from its seeded model (model.ts), computed
 * when a request arrives. Scale tests and demos need no real fleet.
 *
 * Quirks of net-snmp's Agent handled here:
 * - port 0 is read as "default 161", so ephemeral ports need a dgram module whose bind() asks
 *   the OS for a free port;
 * - a table provider's handler runs per varbind before the response is built: it writes the
 *   current value into the instance node, which is how values change between polls;
 * - rows are added with placeholder values that pass the MIB's type validation (a Counter64
 *   must be an 8-byte Buffer there, while the wire encoder takes any length): the handler
 *   replaces them with the minimal BER bytes before anything is sent;
 * - its GETBULK answers at most max-repetitions varbinds in total (not per column), so walks
 *   of a simulated device take more round trips than of snmpd.
 */
import dgram from 'node:dgram';
import snmp from 'net-snmp';
import { stringify as toYaml } from 'yaml';
import { AmoskysError, ErrorCode } from '../../../core/errors/index.ts';
import type { DeviceInput, InventoryInput } from '../inventory.ts';
import type { AuthProtocol, PrivProtocol } from '../types.ts';
import { counter64ToBytes } from '../varbind.ts';
import {
  type CounterSpec,
  counterAt,
  gaugeAt,
  loadAt,
  type SimulatedDevice,
  type SimulatedDeviceOptions,
  simulatedDevice,
  uptimeAt,
} from './model.ts';

/** SNMPv3 user every simulated agent accepts. */
export interface SimulatorV3User {
  user: string;
  authProtocol: AuthProtocol;
  authPass: string;
  privProtocol: PrivProtocol;
  privPass: string;
}

/** Options of {@link startSimulator}. */
export interface SimulatorOptions extends Omit<SimulatedDeviceOptions, 'id'> {
  /** Number of agents. */
  count: number;
  /** UDP port of the first agent; the others follow. Omit for OS-assigned (ephemeral) ports. */
  basePort?: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  /** v2c community. @default 'amoskys' */
  community?: string;
  /** Also accept this SNMPv3 user (authPriv). */
  v3?: SimulatorV3User;
  /** Device ids are `<idPrefix>-<index, 4 digits>`. @default 'sim' */
  idPrefix?: string;
  /** Clock of the value model, ms. @default Date.now */
  now?: () => number;
}

/** One running simulated agent. */
export interface SimulatedAgent {
  device: SimulatedDevice;
  host: string;
  port: number;
  /** When the agent started (elapsed time 0 of its model), ms since the epoch. */
  startedAtMs: number;
}

/** A running fleet. */
export interface Simulator {
  agents: readonly SimulatedAgent[];
  /** Requests answered since start, all agents together. */
  requestsServed(): number;
  /** The fleet as inventory input: v2c with the community, or v3 naming the given variables. */
  inventory(options?: FleetInventoryOptions): InventoryInput;
  /** The same as a YAML document for `loadInventory`. */
  inventoryYaml(options?: FleetInventoryOptions): string;
  /** Closes every agent's socket. Safe to call twice. */
  close(): Promise<void>;
}

/** How {@link Simulator.inventory} writes the devices. */
export interface FleetInventoryOptions {
  /** @default 60 */
  intervalSeconds?: number;
  /** Write SNMPv3 devices whose passphrases come from these variables (needs the v3 option). */
  v3Env?: { authPassEnv: string; privPassEnv: string };
}

const T = snmp.ObjectType;
const readOnly = snmp.MaxAccess['read-only'];

interface ScalarDef {
  oid: string;
  type: number;
  value: (elapsedMs: number) => unknown;
}

interface ColumnDef<R> {
  number: number;
  name: string;
  type: number;
  value: (row: R, elapsedMs: number) => unknown;
}

interface TableDef<R extends { index: number }> {
  name: string;
  entryOid: string;
  rows: R[];
  columns: ColumnDef<R>[];
  /** Index column of this table, or the foreign table whose index it shares. */
  index: { column: string } | { foreign: string; column: string };
}

/** Starts `options.count` agents; resolves when every socket listens. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const community = options.community ?? 'amoskys';
  const now = options.now ?? Date.now;
  const prefix = options.idPrefix ?? 'sim';
  let served = 0;
  const agents: { agent: ReturnType<typeof snmp.createAgent>; info: SimulatedAgent }[] = [];

  const close = async () => {
    const all = agents.splice(0);
    await Promise.all(all.map(({ agent }) => closeAgent(agent)));
  };

  try {
    for (let i = 0; i < options.count; i++) {
      const device = simulatedDevice(i, {
        ...options,
        id: `${prefix}-${String(i).padStart(4, '0')}`,
      });
      const startedAtMs = now();
      const elapsed = () => now() - startedAtMs;
      const port = options.basePort === undefined ? 0 : options.basePort + i;
      const agent = snmp.createAgent(
        {
          port: port === 0 ? 161 : port,
          address: host,
          transport: host.includes(':') ? 'udp6' : 'udp4',
          ...(port === 0 ? { dgramModule: ephemeralDgram } : {}),
        },
        (error: unknown) => {
          if (!error) served++;
        },
      );
      agents.push({ agent, info: { device, host, port, startedAtMs } });
      const bound = await listening(agent, device.id, host, port);
      const entry = agents[agents.length - 1];
      if (entry !== undefined) entry.info.port = bound;
      const authorizer = agent.getAuthorizer();
      authorizer.addCommunity(community);
      if (options.v3 !== undefined) {
        authorizer.addUser({
          name: options.v3.user,
          level: snmp.SecurityLevel.authPriv,
          authProtocol: snmp.AuthProtocols[options.v3.authProtocol],
          authKey: options.v3.authPass,
          privProtocol: snmp.PrivProtocols[options.v3.privProtocol],
          privKey: options.v3.privPass,
        });
      }
      populate(agent.getMib(), device, elapsed);
    }
  } catch (err) {
    await close();
    throw err;
  }

  const infos = agents.map((a) => a.info);
  const inventory = (opts: FleetInventoryOptions = {}): InventoryInput => ({
    defaults: { intervalSeconds: opts.intervalSeconds ?? 60 },
    devices: infos.map((a): DeviceInput => {
      const base = { id: a.device.id, address: a.host, port: a.port };
      if (opts.v3Env !== undefined && options.v3 !== undefined) {
        return {
          ...base,
          version: 'v3',
          user: options.v3.user,
          level: 'authPriv',
          authProtocol: options.v3.authProtocol,
          authPassEnv: opts.v3Env.authPassEnv,
          privProtocol: options.v3.privProtocol,
          privPassEnv: opts.v3Env.privPassEnv,
        };
      }
      return { ...base, version: 'v2c', community };
    }),
  });
  return {
    agents: infos,
    requestsServed: () => served,
    inventory,
    inventoryYaml: (opts) =>
      `# Simulated devices from \`amoskys simulate devices\`; poll them with the SNMP producer.\n${toYaml(inventory(opts))}`,
    close,
  };
}

/** net-snmp reads port 0 as 161; this dgram module binds every socket to an OS-assigned port. */
const ephemeralDgram = {
  createSocket(type: dgram.SocketType) {
    const socket = dgram.createSocket(type);
    const bind = socket.bind.bind(socket) as (port: number, address?: string) => dgram.Socket;
    (socket as unknown as { bind: (port: number, address?: string) => dgram.Socket }).bind = (
      _port,
      address,
    ) => bind(0, address);
    return socket;
  },
};

function socketsOf(agent: unknown): dgram.Socket[] {
  const listener = (agent as { listener?: { sockets?: Record<string, dgram.Socket> } }).listener;
  return Object.values(listener?.sockets ?? {});
}

function listening(agent: unknown, id: string, host: string, port: number): Promise<number> {
  const [socket] = socketsOf(agent);
  if (socket === undefined) return Promise.reject(new Error('net-snmp agent opened no socket'));
  return new Promise((resolve, reject) => {
    socket.once('listening', () => resolve(socket.address().port));
    socket.once('error', (cause) =>
      reject(
        new AmoskysError(
          ErrorCode.SimulatorFailed,
          `simulated device ${id} cannot listen on udp ${host}:${port === 0 ? '(ephemeral)' : port}: ${cause.message}`,
          {
            retriable: (cause as NodeJS.ErrnoException).code === 'EADDRINUSE',
            cause,
            context: { device: id, port },
          },
        ),
      ),
    );
  });
}

function closeAgent(agent: { close: (cb?: () => void) => void }): Promise<void> {
  const sockets = socketsOf(agent);
  return new Promise((resolve) => {
    let open = sockets.length;
    if (open === 0) return resolve();
    try {
      agent.close(() => {
        if (--open === 0) resolve();
      });
    } catch {
      resolve();
    }
  });
}

const counter32 = (spec: CounterSpec, t: number) => Number(counterAt(spec, t));
const counter64 = (spec: CounterSpec, t: number) => counter64ToBytes(counterAt(spec, t));

/** Registers the device's scalars and tables in the agent's MIB. */
function populate(
  mib: ReturnType<ReturnType<typeof snmp.createAgent>['getMib']>,
  d: SimulatedDevice,
  elapsed: () => number,
) {
  const scalars: ScalarDef[] = [
    { oid: '1.3.6.1.2.1.1.1', type: T.OctetString, value: () => d.sysDescr },
    { oid: '1.3.6.1.2.1.1.2', type: T.OID, value: () => '1.3.6.1.4.1.8072.3.2.10' },
    { oid: '1.3.6.1.2.1.1.3', type: T.TimeTicks, value: (t) => uptimeAt(d, t) },
    { oid: '1.3.6.1.2.1.1.4', type: T.OctetString, value: () => d.sysContact },
    { oid: '1.3.6.1.2.1.1.5', type: T.OctetString, value: () => d.sysName },
    { oid: '1.3.6.1.2.1.1.6', type: T.OctetString, value: () => d.sysLocation },
    { oid: '1.3.6.1.4.1.2021.4.3', type: T.Integer, value: () => d.memory.totalSwapKb },
    { oid: '1.3.6.1.4.1.2021.4.4', type: T.Integer, value: (t) => gaugeAt(d.memory.availSwapKb, t) },
    { oid: '1.3.6.1.4.1.2021.4.5', type: T.Integer, value: () => d.memory.totalRealKb },
    { oid: '1.3.6.1.4.1.2021.4.6', type: T.Integer, value: (t) => gaugeAt(d.memory.availRealKb, t) },
    { oid: '1.3.6.1.4.1.2021.4.14', type: T.Integer, value: (t) => gaugeAt(d.memory.bufferKb, t) },
    { oid: '1.3.6.1.4.1.2021.4.15', type: T.Integer, value: (t) => gaugeAt(d.memory.cachedKb, t) },
    { oid: '1.3.6.1.4.1.2021.11.50', type: T.Counter, value: (t) => counter32(d.cpu.user, t) },
    { oid: '1.3.6.1.4.1.2021.11.51', type: T.Counter, value: (t) => counter32(d.cpu.nice, t) },
    { oid: '1.3.6.1.4.1.2021.11.52', type: T.Counter, value: (t) => counter32(d.cpu.system, t) },
    { oid: '1.3.6.1.4.1.2021.11.53', type: T.Counter, value: (t) => counter32(d.cpu.idle, t) },
    { oid: '1.3.6.1.4.1.2021.11.54', type: T.Counter, value: (t) => counter32(d.cpu.wait, t) },
  ];
  for (const s of scalars) {
    const name = `s${s.oid}`;
    mib.registerProvider({
      name,
      type: snmp.MibProviderType.Scalar,
      oid: s.oid,
      scalarType: s.type,
      maxAccess: readOnly,
      handler: (request: { instanceNode: { value: unknown }; done: () => void }) => {
        request.instanceNode.value = s.value(elapsed());
        request.done();
      },
    });
    mib.setScalarValue(name, placeholder(s.type, s.value(0)));
  }

  const loads = d.load.map((spec, i) => ({ index: i + 1, spec }));
  addTable(mib, elapsed, {
    name: 'laTable',
    entryOid: '1.3.6.1.4.1.2021.10.1',
    rows: loads,
    index: { column: 'laIndex' },
    columns: [
      { number: 1, name: 'laIndex', type: T.Integer, value: (r) => r.index },
      {
        number: 2,
        name: 'laNames',
        type: T.OctetString,
        value: (r) => ['Load-1', 'Load-5', 'Load-15'][r.index - 1],
      },
      { number: 3, name: 'laLoad', type: T.OctetString, value: (r, t) => loadAt(r.spec, t) },
    ],
  });
  addTable(mib, elapsed, {
    name: 'dskTable',
    entryOid: '1.3.6.1.4.1.2021.9.1',
    rows: d.disks,
    index: { column: 'dskIndex' },
    columns: [
      { number: 1, name: 'dskIndex', type: T.Integer, value: (r) => r.index },
      { number: 2, name: 'dskPath', type: T.OctetString, value: (r) => r.path },
      { number: 3, name: 'dskDevice', type: T.OctetString, value: (r) => r.device },
      { number: 6, name: 'dskTotal', type: T.Integer, value: (r) => r.totalKb },
      { number: 7, name: 'dskAvail', type: T.Integer, value: (r, t) => gaugeAt(r.availKb, t) },
    ],
  });
  addTable(mib, elapsed, {
    name: 'hrStorageTable',
    entryOid: '1.3.6.1.2.1.25.2.3.1',
    rows: d.storage,
    index: { column: 'hrStorageIndex' },
    columns: [
      { number: 1, name: 'hrStorageIndex', type: T.Integer, value: (r) => r.index },
      { number: 3, name: 'hrStorageDescr', type: T.OctetString, value: (r) => r.descr },
      { number: 4, name: 'hrStorageAllocationUnits', type: T.Integer, value: (r) => r.allocationUnits },
      { number: 5, name: 'hrStorageSize', type: T.Integer, value: (r) => r.size },
      { number: 6, name: 'hrStorageUsed', type: T.Integer, value: (r, t) => gaugeAt(r.used, t) },
    ],
  });
  addTable(mib, elapsed, {
    name: 'ifTable',
    entryOid: '1.3.6.1.2.1.2.2.1',
    rows: d.interfaces,
    index: { column: 'ifIndex' },
    columns: [
      { number: 1, name: 'ifIndex', type: T.Integer, value: (r) => r.index },
      { number: 2, name: 'ifDescr', type: T.OctetString, value: (r) => r.descr },
      { number: 8, name: 'ifOperStatus', type: T.Integer, value: (r) => r.operStatus },
      { number: 14, name: 'ifInErrors', type: T.Counter, value: (r, t) => counter32(r.inErrors, t) },
      { number: 20, name: 'ifOutErrors', type: T.Counter, value: (r, t) => counter32(r.outErrors, t) },
    ],
  });
  addTable(mib, elapsed, {
    name: 'ifXTable',
    entryOid: '1.3.6.1.2.1.31.1.1.1',
    rows: d.interfaces,
    index: { foreign: 'ifTable', column: 'ifIndex' },
    columns: [
      { number: 1, name: 'ifName', type: T.OctetString, value: (r) => r.descr },
      { number: 6, name: 'ifHCInOctets', type: T.Counter64, value: (r, t) => counter64(r.inOctets, t) },
      { number: 10, name: 'ifHCOutOctets', type: T.Counter64, value: (r, t) => counter64(r.outOctets, t) },
    ],
  });
}

function addTable<R extends { index: number }>(
  mib: ReturnType<ReturnType<typeof snmp.createAgent>['getMib']>,
  elapsed: () => number,
  table: TableDef<R>,
) {
  const rows = new Map(table.rows.map((r) => [r.index, r]));
  const columns = new Map(table.columns.map((c) => [c.number, c]));
  const prefix = `${table.entryOid}.`;
  mib.registerProvider({
    name: table.name,
    type: snmp.MibProviderType.Table,
    oid: table.entryOid,
    maxAccess: snmp.MaxAccess['not-accessible'],
    tableColumns: table.columns.map((c) => ({
      number: c.number,
      name: c.name,
      type: c.type,
      maxAccess: readOnly,
    })),
    tableIndex: [
      'foreign' in table.index
        ? { columnName: table.index.column, foreign: table.index.foreign }
        : { columnName: table.index.column },
    ],
    handler: (request: { oid: string; instanceNode: { value: unknown }; done: () => void }) => {
      // Instance OID = entry . column . index
      const [column, index] = request.oid.slice(prefix.length).split('.').map(Number);
      const def = columns.get(column ?? -1);
      const row = rows.get(index ?? -1);
      if (def !== undefined && row !== undefined) request.instanceNode.value = def.value(row, elapsed());
      request.done();
    },
  });
  for (const row of table.rows) {
    const values = table.columns.map((c) => placeholder(c.type, c.value(row, 0)));
    mib.addTableRow(table.name, 'foreign' in table.index ? [row.index, ...values] : values);
  }
}

/** A value the MIB's validation accepts; handlers replace it before it is ever sent. */
function placeholder(type: number, value: unknown): unknown {
  return type === T.Counter64 ? 0 : value;
}
