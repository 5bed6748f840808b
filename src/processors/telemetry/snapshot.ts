/**
 * The per-device state flatten() carries from one sample to the next (last value of every counter
 * series, the last sysUpTime reading), and its byte form for the changelog topic the processor
 * keeps it in (keyed by device id).
 *
 * Bytes: UTF-8 JSON, version 1, bigints as decimal strings, series sorted by key, so equal
 * snapshots are equal bytes:
 *
 *   {"v":1,"device":"r1","key":"r1/60/7","t":"<ns>","rs":"ok","pt":"<ns>"|null,
 *    "up":[<centiseconds>,"<ns>",<poll duration ms>]|null,
 *    "s":[["if_hc_in_octets",["ifIndex","2","ifDescr","eth0"],"<value>",64,"<ns>"|null,<rate>|null],…]}
 *
 * A series' time is null when it equals the snapshot's `t` (the common case).
 */
import { type RateState, RateState as RateStates } from '../../core/features/index.ts';
import type { Label } from '../../core/telemetry/index.ts';

/** The last value of one counter series (one metric name and one set of row labels). */
export interface CounterSeries {
  name: string;
  labels: Label[];
  /** Raw counter value. */
  value: bigint;
  bits: 32 | 64;
  /** When the value was read, ns since the epoch. */
  observedAtNs: bigint;
  /**
   * The rate derived when this value was applied, per second; undefined when there was none.
   * Kept so that a redelivery of the latest sample reproduces its row exactly.
   */
  perSecond: number | undefined;
}

/** The last sysUpTime reading. */
export interface UptimeReading {
  /** sysUpTime, centiseconds. */
  centiseconds: number;
  /** Observed time of the poll that read it, ns since the epoch. */
  observedAtNs: bigint;
  /** Duration of that poll, ms: the value was read somewhere inside it. */
  pollDurationMs: number;
}

/** What flatten() remembers about one device. Never mutated: flatten() returns a new one. */
export interface DeviceSnapshot {
  deviceId: string;
  /** Idempotency key of the latest sample applied. */
  idempotencyKey: string;
  /** Observed time of the latest sample applied, ns since the epoch. */
  observedAtNs: bigint;
  /** Rate state of the latest sample's row (for redelivery). */
  rateState: RateState;
  /** previous_observed_at_ns of the latest sample's row (for redelivery). */
  previousObservedAtNs: bigint | undefined;
  /** The latest sysUpTime reading, from this or an earlier sample. */
  uptime: UptimeReading | undefined;
  /**
   * Counter series by {@link seriesKey}: each series' latest value within the gap limit. Series
   * older than that are dropped (they can no longer give a rate), so the size follows the device.
   */
  series: ReadonlyMap<string, CounterSeries>;
}

/**
 * The identity of a counter series: metric name plus every row label, in order. Length-prefixed,
 * so no name or label text can make two series collide. In memory only; never persisted.
 */
export function seriesKey(name: string, labels: readonly Label[]): string {
  let key = `${name.length}:${name}`;
  for (const l of labels) key += `|${l.key.length}:${l.key}=${l.value.length}:${l.value}`;
  return key;
}

/** Version of the byte form this code writes and reads. */
export const SNAPSHOT_VERSION = 1;

type SeriesJson = [string, string[], string, 32 | 64, string | null, number | null];

/**
 * The bytes of a snapshot (UTF-8 JSON, see the file header). Deterministic: equal snapshots give
 * equal bytes.
 */
export function encodeSnapshot(snapshot: DeviceSnapshot): Uint8Array {
  const t = snapshot.observedAtNs;
  const series = [...snapshot.series.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(
      ([, s]): SeriesJson => [
        s.name,
        s.labels.flatMap((l) => [l.key, l.value]),
        s.value.toString(),
        s.bits,
        s.observedAtNs === t ? null : s.observedAtNs.toString(),
        s.perSecond ?? null,
      ],
    );
  const up = snapshot.uptime;
  const json = {
    v: SNAPSHOT_VERSION,
    device: snapshot.deviceId,
    key: snapshot.idempotencyKey,
    t: t.toString(),
    rs: snapshot.rateState,
    pt: snapshot.previousObservedAtNs?.toString() ?? null,
    up: up === undefined ? null : [up.centiseconds, up.observedAtNs.toString(), up.pollDurationMs],
    s: series,
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

class Malformed extends Error {}

const decimal = /^(0|[1-9]\d*)$/;
const rateStates = new Set<string>(Object.values(RateStates));

function fail(path: string, message: string): never {
  throw new Malformed(`${path}: ${message}`);
}
function bigintAt(value: unknown, path: string): bigint {
  // Every bigint here is a uint64 of the contract (times, counters); a larger one would make the
  // next feature row unencodable.
  if (typeof value !== 'string' || !decimal.test(value) || BigInt(value) > 0xffff_ffff_ffff_ffffn) {
    fail(path, 'expected a decimal integer string below 2^64');
  }
  return BigInt(value);
}
function numberAt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'expected a finite number');
  return value;
}
function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'expected a string');
  return value;
}
function arrayAt(value: unknown, path: string, length?: number): unknown[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    fail(path, length === undefined ? 'expected an array' : `expected an array of ${length}`);
  }
  return value;
}

/** Checks the parsed JSON by hand: this runs once per message, and a schema library costs more. */
function fromJson(raw: unknown): DeviceSnapshot {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('', 'expected an object');
  const j = raw as Record<string, unknown>;
  // JSON.stringify, not String: String([{ "toString": "" }]) throws a TypeError.
  if (j.v !== SNAPSHOT_VERSION) fail('v', `expected version ${SNAPSHOT_VERSION}, got ${JSON.stringify(j.v)}`);
  const t = bigintAt(j.t, 't');
  const rs = stringAt(j.rs, 'rs');
  if (!rateStates.has(rs)) fail('rs', `unknown rate state ${rs}`);
  let uptime: UptimeReading | undefined;
  if (j.up !== null) {
    const up = arrayAt(j.up, 'up', 3);
    uptime = {
      centiseconds: numberAt(up[0], 'up.0'),
      observedAtNs: bigintAt(up[1], 'up.1'),
      pollDurationMs: numberAt(up[2], 'up.2'),
    };
  }
  const series = new Map<string, CounterSeries>();
  arrayAt(j.s, 's').forEach((entry, n) => {
    const [name, flat, value, bits, at, rate] = arrayAt(entry, `s.${n}`, 6);
    const labelList = arrayAt(flat, `s.${n}.1`);
    if (labelList.length % 2 !== 0) fail(`s.${n}.1`, 'labels must be key/value pairs');
    const labels: Label[] = [];
    for (let i = 0; i < labelList.length; i += 2) {
      labels.push({ key: stringAt(labelList[i], `s.${n}.1`), value: stringAt(labelList[i + 1], `s.${n}.1`) });
    }
    if (bits !== 32 && bits !== 64) fail(`s.${n}.3`, 'counter bits must be 32 or 64');
    const seriesName = stringAt(name, `s.${n}.0`);
    series.set(seriesKey(seriesName, labels), {
      name: seriesName,
      labels,
      value: bigintAt(value, `s.${n}.2`),
      bits,
      observedAtNs: at === null ? t : bigintAt(at, `s.${n}.4`),
      perSecond: rate === null ? undefined : numberAt(rate, `s.${n}.5`),
    });
  });
  return {
    deviceId: stringAt(j.device, 'device'),
    idempotencyKey: stringAt(j.key, 'key'),
    observedAtNs: t,
    rateState: rs as RateState,
    previousObservedAtNs: j.pt === null ? undefined : bigintAt(j.pt, 'pt'),
    uptime,
    series,
  };
}

/** Result of {@link decodeSnapshot}. */
export type SnapshotDecodeResult = { ok: true; snapshot: DeviceSnapshot } | { ok: false; detail: string };

/**
 * Reads snapshot bytes written by {@link encodeSnapshot}. Never throws for bad input: bytes that
 * are not a version-1 snapshot come back as `{ ok: false, detail }`; the caller then starts the
 * device afresh (its next row has rate state `first_sample`), which loses one sample's rates and
 * nothing else.
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotDecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { ok: false, detail: `not UTF-8 JSON: ${(err as Error).message}` };
  }
  try {
    return { ok: true, snapshot: fromJson(raw) };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, detail: `not a snapshot: ${err.message}` };
    throw err;
  }
}
