/**
 * The two ways a poll reads an agent, written against a small requester interface so they are
 * unit-tested without sockets: batched GET of scalar OIDs, and a lockstep GETBULK walk of
 * several table columns at once.
 *
 * Why not net-snmp's own `subtree`/`tableColumns`: they walk one column (or the whole table) at
 * a time, one round trip per `maxRepetitions` rows of each column. Walking the columns of a table
 * side by side, as `snmptable` does, reads a 4-row interface table with 6 columns in one round
 * trip instead of six.
 */
import snmp from 'net-snmp';
import type { ColumnRow } from './metrics.ts';
import { isException, type RawVarbind } from './varbind.ts';

/** The SNMP requests a poll needs, as promises. */
export interface SnmpRequester {
  /** GET: one varbind per OID, in order. */
  get(oids: string[]): Promise<RawVarbind[]>;
  /** GETBULK without non-repeaters: for each OID, the varbinds that follow it, in order. */
  getBulk(oids: string[], maxRepetitions: number): Promise<RawVarbind[][]>;
}

/** Result of {@link getScalars}. */
export interface ScalarResult {
  values: Map<string, RawVarbind>;
  /** Requests that failed, with the OIDs they carried. */
  failures: { oids: string[]; error: unknown }[];
}

/**
 * GETs `oids` in batches of at most `maxOidsPerGet`, all batches at once. A batch answered with
 * tooBig is split in two and retried, down to single OIDs.
 */
export async function getScalars(
  requester: SnmpRequester,
  oids: readonly string[],
  maxOidsPerGet: number,
): Promise<ScalarResult> {
  const result: ScalarResult = { values: new Map(), failures: [] };
  const run = async (batch: string[]): Promise<void> => {
    try {
      const varbinds = await requester.get(batch);
      batch.forEach((oid, i) => {
        const vb = varbinds[i];
        if (vb !== undefined) result.values.set(oid, vb);
      });
    } catch (error) {
      if (isTooBig(error) && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await Promise.all([run(batch.slice(0, half)), run(batch.slice(half))]);
      } else {
        result.failures.push({ oids: batch, error });
      }
    }
  };
  const batches: string[][] = [];
  for (let i = 0; i < oids.length; i += maxOidsPerGet) batches.push(oids.slice(i, i + maxOidsPerGet));
  await Promise.all(batches.map(run));
  return result;
}

/** Options of {@link walkColumns}. */
export interface WalkOptions {
  /** GETBULK max-repetitions: rows asked per column per request. */
  maxRepetitions: number;
  /** A column with more rows is cut off (a runaway agent must not stall the poll). */
  maxRowsPerColumn: number;
}

/** Result of {@link walkColumns}. */
export interface WalkResult {
  /** Column OID -> rows read, in OID order (also when the walk failed part-way). */
  columns: Map<string, ColumnRow[]>;
  /** Walk anomalies that did not stop the other columns. */
  problems: string[];
  /** The request error that ended the walk, if one did. */
  error?: unknown;
}

/**
 * Walks `columns` side by side with GETBULK: each request carries the last OID read of every
 * column still open; a column closes when the agent returns an OID outside it, an exception, or
 * an OID that does not increase (a broken agent would otherwise loop). Responses may be cut
 * short (agents cap the response size, and net-snmp's own agent caps the varbind count at
 * max-repetitions): the walk simply continues from the last OID of each column.
 */
export async function walkColumns(
  requester: SnmpRequester,
  columns: readonly string[],
  options: WalkOptions,
): Promise<WalkResult> {
  const result: WalkResult = { columns: new Map(columns.map((c) => [c, []])), problems: [] };
  const open = columns.map((base) => ({ base, last: base, lastArcs: arcs(base) }));
  while (open.length > 0) {
    let response: RawVarbind[][];
    try {
      response = await requester.getBulk(
        open.map((c) => c.last),
        options.maxRepetitions,
      );
    } catch (error) {
      result.error = error;
      return result;
    }
    let progressed = false;
    for (let i = open.length - 1; i >= 0; i--) {
      const column = open[i];
      if (column === undefined) continue;
      const rows = result.columns.get(column.base) ?? [];
      let done = false;
      for (const vb of response[i] ?? []) {
        if (isException(vb) || !vb.oid.startsWith(`${column.base}.`)) {
          done = true;
          break;
        }
        const vbArcs = arcs(vb.oid);
        if (compareArcs(vbArcs, column.lastArcs) <= 0) {
          result.problems.push(`agent returned ${vb.oid} after ${column.last} (OID not increasing)`);
          done = true;
          break;
        }
        rows.push({ index: vb.oid.slice(column.base.length + 1), varbind: vb });
        column.last = vb.oid;
        column.lastArcs = vbArcs;
        progressed = true;
        if (rows.length >= options.maxRowsPerColumn) {
          result.problems.push(`${column.base}: more than ${options.maxRowsPerColumn} rows, cut off`);
          done = true;
          break;
        }
      }
      if (done) {
        open.splice(i, 1);
        progressed = true;
      }
    }
    if (!progressed) {
      result.problems.push(
        `agent answered GETBULK with no varbinds for ${open.map((c) => c.base).join(', ')}`,
      );
      return result;
    }
  }
  return result;
}

/** Whether a request error is the agent's tooBig status. */
export function isTooBig(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'RequestFailedError' &&
    (error as { status?: unknown }).status === snmp.ErrorStatus.TooBig
  );
}

function arcs(oid: string): number[] {
  return oid.split('.').map(Number);
}

/** Lexicographic order of OIDs by arcs (string order would put .10 before .9). */
export function compareArcs(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
