/**
 * A fake SNMP agent for unit tests: answers GET and GETBULK from a recorded walk (Net-SNMP CLI
 * output), with the value types net-snmp hands over (Buffer for OctetString and Counter64,
 * numbers for the rest), optionally cutting responses short like a real agent does.
 */
import { readFileSync } from 'node:fs';
import snmp from 'net-snmp';
import {
  compareArcs,
  counter64ToBytes,
  type RawVarbind,
  type SnmpRequester,
} from '../../../../src/producers/snmp/index.ts';
import { parseSnmpOutput } from '../../../helpers/snmp-cli.ts';

const T = snmp.ObjectType;

/** The recorded walk of Debian snmpd 5.9.3. */
export const snmpdWalkFile = new URL('../../../fixtures/snmp/snmpd-5.9.3-walk.txt', import.meta.url);

/** Varbinds of a recorded walk, in OID order. */
export function loadWalk(file: URL = snmpdWalkFile): RawVarbind[] {
  return parseSnmpOutput(readFileSync(file, 'utf8')).map(({ oid, type, value }): RawVarbind => {
    switch (type) {
      case 'STRING':
        return { oid, type: T.OctetString, value: Buffer.from(value, 'utf8') };
      case 'Hex-STRING':
        return { oid, type: T.OctetString, value: Buffer.from(value.replace(/\s+/g, ''), 'hex') };
      case 'INTEGER':
        return { oid, type: T.Integer, value: Number(value) };
      case 'Counter32':
        return { oid, type: T.Counter, value: Number(value) };
      case 'Gauge32':
        return { oid, type: T.Gauge, value: Number(value) };
      case 'Timeticks':
        return { oid, type: T.TimeTicks, value: Number(value) };
      case 'Counter64':
        return { oid, type: T.Counter64, value: counter64ToBytes(BigInt(value)) };
      case 'OID':
        return { oid, type: T.OID, value: value.replace(/^\./, '') };
      default:
        return { oid, type: T.Opaque, value: Buffer.from(value) };
    }
  });
}

/** Options of {@link ReplayAgent}. */
export interface ReplayOptions {
  /** Varbinds per response at most (a real agent's message size limit). @default unlimited */
  maxVarbindsPerResponse?: number;
  /** GETs with more OIDs fail with tooBig. @default unlimited */
  tooBigAbove?: number;
}

/** Answers like an agent serving exactly the recorded varbinds. */
export class ReplayAgent implements SnmpRequester {
  readonly requests: { op: 'get' | 'getBulk'; oids: string[]; maxRepetitions?: number }[] = [];
  readonly #sorted: { arcs: number[]; vb: RawVarbind }[];
  readonly #byOid: Map<string, RawVarbind>;
  readonly #options: ReplayOptions;

  constructor(varbinds: readonly RawVarbind[], options: ReplayOptions = {}) {
    this.#sorted = varbinds
      .map((vb) => ({ arcs: vb.oid.split('.').map(Number), vb }))
      .sort((a, b) => compareArcs(a.arcs, b.arcs));
    this.#byOid = new Map(varbinds.map((vb) => [vb.oid, vb]));
    this.#options = options;
  }

  async get(oids: string[]): Promise<RawVarbind[]> {
    this.requests.push({ op: 'get', oids });
    if (this.#options.tooBigAbove !== undefined && oids.length > this.#options.tooBigAbove) {
      throw Object.assign(new Error('tooBig'), {
        name: 'RequestFailedError',
        status: snmp.ErrorStatus.TooBig,
      });
    }
    return oids.map((oid) => this.#byOid.get(oid) ?? { oid, type: T.NoSuchObject, value: null });
  }

  async getBulk(oids: string[], maxRepetitions: number): Promise<RawVarbind[][]> {
    this.requests.push({ op: 'getBulk', oids, maxRepetitions });
    const limit = this.#options.maxVarbindsPerResponse ?? Number.POSITIVE_INFINITY;
    const out: RawVarbind[][] = oids.map(() => []);
    const cursor = [...oids];
    let count = 0;
    for (let r = 0; r < maxRepetitions; r++) {
      for (let c = 0; c < oids.length; c++) {
        if (count >= limit) return out;
        const next = this.#next(cursor[c] ?? '');
        out[c]?.push(next);
        cursor[c] = next.oid;
        count++;
      }
    }
    return out;
  }

  #next(oid: string): RawVarbind {
    const arcs = oid.split('.').map(Number);
    const found = this.#sorted.find((e) => compareArcs(e.arcs, arcs) > 0);
    return found?.vb ?? { oid, type: T.EndOfMibView, value: null };
  }
}
