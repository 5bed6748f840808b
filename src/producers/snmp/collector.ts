/**
 * SNMP collector: one poll of one device.
 *
 * Consumes: a Device (address, SNMP v2c/v3 credentials, timeouts), a metric Profile and the poll
 *   slot it belongs to.
 * Produces: one DevicePoll (src/core/telemetry) per call: every value read, exactly as read
 *   (Counter64 as an unsigned bigint, counters raw), table rows with their index labels, and a
 *   status: ok | partial | unreachable | auth_failed | error, with the reason, the varbinds
 *   requested and received and the exact size of the SNMP responses received.
 * Delivery guarantee: the call never rejects for anything the device or network does; a device
 *   problem is a status, so a dead device yields a status event, never silence. It resolves by
 *   the deadline (an abort closes the session and returns what was read).
 * Idempotency key: `<device_id>/<interval_s>/<slot>` (core idempotencyKey()); the slot comes
 *   from the caller, so a retried poll of a slot carries the same key.
 *
 * Requests: scalars with GET in as few PDUs as possible, table columns walked side by side with
 *   GETBULK (walk.ts), all concurrently on one UDP socket per poll. SNMPv3 sends one request
 *   first so that engine discovery happens once, then the rest.
 *
 * Status mapping (SNMPv3 errors as net-snmp reports them against Net-SNMP's snmpd):
 * - a Report of usmStatsWrongDigests / UnknownUserNames / UnsupportedSecLevels, or an
 *   authorizationError response (e.g. authNoPriv where the agent requires authPriv) -> auth_failed;
 * - a wrong privacy passphrase gives no error at all: snmpd cannot decrypt the request and drops
 *   it. When the agent answered engine discovery (bytes received) but no request after it, the
 *   poll is auth_failed with that explanation, since a live agent that stops answering right
 *   after discovery is almost always a privacy key mismatch;
 * - nothing received at all (host down, port closed, wrong v2c community: all look alike over
 *   UDP) -> unreachable;
 * - some metric definitions without a value (noSuchObject, empty table, a failed request) ->
 *   partial, listing them; no value at all for another reason -> error.
 */
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import snmp from 'net-snmp';
import type { DevicePoll, PollState } from '../../core/telemetry/index.ts';
import { msToNs, systemClock } from './clock.ts';
import { buildMetrics, type ColumnRow } from './metrics.ts';
import {
  type CollectorOptions,
  collectorDefaults,
  collectorOptionsSchema,
  resolveOptions,
} from './options.ts';
import { planPoll } from './profile.ts';
import type { Device, PollFunction, PollOptions, Profile, SlotInfo } from './types.ts';
import type { RawVarbind } from './varbind.ts';
import { getScalars, type SnmpRequester, walkColumns } from './walk.ts';

/** How a request failed, as far as the status of the poll is concerned. */
export const FailureKind = {
  Timeout: 'timeout',
  Auth: 'auth',
  Aborted: 'aborted',
  Other: 'other',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** A failed request, classified. */
export interface Failure {
  kind: FailureKind;
  message: string;
}

/** Options of {@link createCollector}. */
export interface CollectorConfig extends Partial<CollectorOptions> {}

/**
 * A poll function with fixed collector options (GETBULK repetitions, GET batch size). The
 * scheduler takes one; {@link pollDevice} is the one with defaults.
 * @throws ConfigError when an option is invalid (at creation, not per poll).
 */
export function createCollector(config: CollectorConfig = {}): PollFunction {
  const options = resolveOptions(collectorOptionsSchema, collectorDefaults, config, 'collector options');
  const rowHints: RowHints = new Map();
  return (device: Device, profile: Profile, slot: SlotInfo, pollOptions: PollOptions = {}) =>
    poll(device, profile, slot, pollOptions, options, rowHints);
}

/**
 * Rows each table had at a device's last poll, by `<device id> <table>`: the next walk asks for
 * that many rows + 1 per column, so it ends in one round trip without reading rows of the next
 * column. One number per device and table.
 */
type RowHints = Map<string, number>;

/** Polls `device` once with the default collector options. Never rejects for device problems. */
export const pollDevice = createCollector();

async function poll(
  device: Device,
  profile: Profile,
  slot: SlotInfo,
  pollOptions: PollOptions,
  options: CollectorOptions,
  rowHints: RowHints,
): Promise<DevicePoll> {
  const clock = pollOptions.clock ?? systemClock;
  const startedAt = clock.now();
  const startedPerf = performance.now();
  const counters = { requested: 0, received: 0, bytes: 0, requests: 0 };
  const failures: Failure[] = [];
  const result = (state: PollState, reason: string, metrics: DevicePoll['metrics'] = []): DevicePoll => ({
    deviceId: device.id,
    protocol: 'snmp',
    intervalS: slot.intervalS,
    slot: slot.slot,
    slotStartNs: slot.slotStartNs,
    observedAtNs: msToNs(startedAt),
    metrics,
    status: {
      state,
      reason,
      durationMs: Math.round((performance.now() - startedPerf) * 1000) / 1000,
      varbindsRequested: counters.requested,
      varbindsReceived: counters.received,
      bytesCollected: counters.bytes,
    },
  });

  if (pollOptions.signal?.aborted) return result('error', 'poll aborted before it started');

  const budgetMs =
    pollOptions.deadlineAtMs === undefined ? Number.POSITIVE_INFINITY : pollOptions.deadlineAtMs - startedAt;
  if (budgetMs <= 0) return result('unreachable', 'poll deadline passed before the poll started');
  const { timeoutMs, retries } = fitTimeouts(device.timeoutMs, device.retries, budgetMs);

  const session = openSession(device, timeoutMs, retries);
  const socket = (session as unknown as { dgram: Socket }).dgram;
  socket.on('message', (message: Buffer) => {
    counters.bytes += message.length;
  });
  let unparseable = 0;
  session.on('error', () => {
    unparseable++;
  });

  let aborted = false;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      session.close();
    } catch {
      // Already closed by net-snmp after a socket error; nothing is left to release.
    }
  };
  // Requests in flight when the poll is aborted are settled here too: closing the socket makes
  // net-snmp cancel the requests it registered, but not one whose datagram is still being sent.
  const pending = new Set<(error: Error) => void>();
  const abort = () => {
    aborted = true;
    close();
    for (const reject of pending) reject(abortedError());
  };
  pollOptions.signal?.addEventListener('abort', abort, { once: true });
  const deadlineTimer = Number.isFinite(budgetMs) ? clock.setTimeout(abort, budgetMs) : undefined;
  // Tell the scheduler when the first attempt passed without a single byte from the device: it
  // then moves the poll out of the permits that live devices need.
  const onSilent = pollOptions.onSilent;
  const silentTimer =
    onSilent === undefined
      ? undefined
      : clock.setTimeout(() => {
          if (counters.bytes === 0 && !closed) onSilent();
        }, timeoutMs);

  const requester = wrapSession(session, counters, pending, () => aborted);
  const plan = planPoll(profile);
  const scalars = new Map<string, RawVarbind>();
  const columns = new Map<string, ColumnRow[]>();
  const unread = new Map<string, string>();
  const walkProblems: string[] = [];

  const fail = (error: unknown, oids: readonly string[]) => {
    const failure = aborted
      ? { kind: FailureKind.Aborted, message: 'poll deadline reached' }
      : classifyError(error);
    failures.push(failure);
    for (const oid of oids) unread.set(oid, failure.message);
  };
  const readScalars = async (oids: string[]) => {
    if (oids.length === 0) return;
    const got = await getScalars(requester, oids, options.maxOidsPerGet);
    for (const [oid, vb] of got.values) scalars.set(oid, vb);
    for (const f of got.failures) fail(f.error, f.oids);
  };
  const readTable = async (table: string, tableColumns: string[]) => {
    const hintKey = `${device.id} ${table}`;
    const hint = options.adaptiveRepetitions ? rowHints.get(hintKey) : undefined;
    const maxRepetitions =
      hint === undefined ? options.maxRepetitions : Math.min(options.maxRepetitions, hint + 1);
    const walked = await walkColumns(requester, tableColumns, { ...options, maxRepetitions });
    if (walked.error === undefined) {
      rowHints.set(hintKey, Math.max(0, ...[...walked.columns.values()].map((rows) => rows.length)));
    }
    walkProblems.push(...walked.problems);
    for (const [oid, rows] of walked.columns) {
      if (walked.error === undefined || rows.length > 0) columns.set(oid, rows);
    }
    if (walked.error !== undefined) {
      fail(
        walked.error,
        tableColumns.filter((c) => (walked.columns.get(c)?.length ?? 0) === 0),
      );
    }
  };

  try {
    const tasks: (() => Promise<void>)[] = [
      () => readScalars(plan.scalarOids.slice(0, options.maxOidsPerGet)),
      () => readScalars(plan.scalarOids.slice(options.maxOidsPerGet)),
      ...plan.tables.map((t) => () => readTable(t.name, t.columns)),
    ];
    if (device.credentials.version === 'v3') {
      // One request first: it carries the engine discovery, and when it fails for
      // authentication the rest would only fail the same way.
      const [first, ...rest] = tasks;
      await first?.();
      const firstFailed = failures.length > 0;
      if (!firstFailed) await Promise.all(rest.map((t) => t()));
      else
        for (const t of plan.tables)
          for (const c of t.columns) unread.set(c, 'not requested: first request failed');
    } else {
      await Promise.all(tasks.map((t) => t()));
    }
  } finally {
    if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
    if (silentTimer !== undefined) clock.clearTimeout(silentTimer);
    pollOptions.signal?.removeEventListener('abort', abort);
    close();
  }

  const built = buildMetrics(profile, { scalars, columns, unread });
  const total = profile.metrics.length;
  const target = `${device.address}:${device.port}`;

  const auth = failures.find((f) => f.kind === FailureKind.Auth);
  if (auth !== undefined) return result('auth_failed', auth.message, built.metrics);

  const silent =
    failures.length > 0 &&
    failures.every((f) => f.kind === FailureKind.Timeout || f.kind === FailureKind.Aborted);
  if (built.metrics.length === 0 && silent) {
    const how = aborted
      ? `no answer before the poll deadline (${Math.round(budgetMs)} ms)`
      : `no answer within ${retries + 1} attempt(s) of ${timeoutMs} ms`;
    if (device.credentials.version === 'v3' && counters.bytes > 0) {
      return result(
        'auth_failed',
        `SNMPv3: ${target} answered engine discovery but not the encrypted request (${how}); ` +
          'the privacy passphrase or protocol is most likely wrong (the agent drops what it cannot decrypt)',
      );
    }
    const causes =
      device.credentials.version === 'v2c'
        ? 'host down, port closed or wrong community'
        : 'host down or port closed';
    return result('unreachable', `${target}: ${how} (${causes})`);
  }

  if (built.metrics.length === 0) {
    const first = failures[0];
    const why = first !== undefined ? first.message : built.problems.slice(0, 5).join('; ');
    return result('error', `${target}: no metric of profile ${profile.name} has a value: ${why}`);
  }

  const notes: string[] = [];
  if (built.problems.length > 0) {
    notes.push(
      `${total - built.definitionsWithValues} of ${total} metric definitions without value: ${summarise(built.problems, 8)}`,
    );
  }
  if (aborted)
    notes.push(`poll deadline (${Math.round(budgetMs)} ms) reached before every request was answered`);
  notes.push(...walkProblems);
  if (unparseable > 0) notes.push(`${unparseable} unparseable message(s) from the agent ignored`);
  if (notes.length > 0) return result('partial', notes.join('; '), built.metrics);
  return result('ok', '', built.metrics);
}

/**
 * Fits request timeout and retries into the time left before the deadline: the attempts of one
 * request must end before it, so a dead device is reported as unreachable, not cut off mid-retry.
 */
export function fitTimeouts(
  timeoutMs: number,
  retries: number,
  budgetMs: number,
): { timeoutMs: number; retries: number } {
  if (!Number.isFinite(budgetMs)) return { timeoutMs, retries };
  if (budgetMs <= timeoutMs) return { timeoutMs: Math.max(1, Math.floor(budgetMs * 0.9)), retries: 0 };
  const attempts = Math.max(1, Math.min(retries + 1, Math.floor((budgetMs * 0.95) / timeoutMs)));
  return { timeoutMs, retries: attempts - 1 };
}

/** Classifies an error of one net-snmp request. */
export function classifyError(error: unknown): Failure {
  if (!(error instanceof Error)) return { kind: FailureKind.Other, message: String(error) };
  if (error.name === 'RequestTimedOutError')
    return { kind: FailureKind.Timeout, message: 'request timed out' };
  if (error.name === 'ResponseInvalidError') {
    const code = (error as { code?: unknown }).code;
    if (
      code === snmp.ResponseInvalidCode.EAuthFailure ||
      code === snmp.ResponseInvalidCode.ECouldNotDecrypt
    ) {
      return { kind: FailureKind.Auth, message: `SNMPv3 authentication failed: ${error.message}` };
    }
  }
  if (error.name === 'RequestFailedError') {
    const status = (error as { status?: unknown }).status;
    if (status === snmp.ErrorStatus.AuthorizationError) {
      return {
        kind: FailureKind.Auth,
        message: `agent refused access (authorizationError): the security level or user is not allowed this view`,
      };
    }
  }
  return { kind: FailureKind.Other, message: `${error.name}: ${error.message}` };
}

function openSession(device: Device, timeoutMs: number, retries: number): snmp.Session {
  const common = {
    port: device.port,
    timeout: Math.max(1, timeoutMs),
    retries,
    transport: isIPv6(device.address) ? ('udp6' as const) : ('udp4' as const),
  };
  const c = device.credentials;
  if (c.version === 'v2c') {
    return snmp.createSession(device.address, c.community, { ...common, version: snmp.Version2c });
  }
  const user: snmp.User = {
    name: c.user,
    level: c.level === 'authPriv' ? snmp.SecurityLevel.authPriv : snmp.SecurityLevel.authNoPriv,
    authProtocol: snmp.AuthProtocols[c.authProtocol],
    authKey: c.authPass,
  };
  if (c.level === 'authPriv' && c.privProtocol !== undefined && c.privPass !== undefined) {
    user.privProtocol = snmp.PrivProtocols[c.privProtocol];
    user.privKey = c.privPass;
  }
  return snmp.createV3Session(device.address, user, { ...common, version: snmp.Version3 });
}

const abortedError = () => Object.assign(new Error('poll aborted'), { name: 'PollAborted' });

function wrapSession(
  session: snmp.Session,
  counters: { requested: number; received: number; requests: number },
  pending: Set<(error: Error) => void>,
  isAborted: () => boolean,
): SnmpRequester {
  const request = <T>(oids: string[], send: (done: (error: Error | null, value?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      if (isAborted()) return reject(abortedError());
      counters.requests++;
      counters.requested += oids.length;
      pending.add(reject);
      send((error, value) => {
        pending.delete(reject);
        if (error) reject(error);
        else resolve(value as T);
      });
    });
  return {
    get: (oids) =>
      request<RawVarbind[]>(oids, (done) =>
        session.get(oids, (error, varbinds) => {
          const vbs = (varbinds ?? []) as RawVarbind[];
          if (!error) counters.received += vbs.length;
          done(error, vbs);
        }),
      ),
    getBulk: (oids, maxRepetitions) =>
      request<RawVarbind[][]>(oids, (done) =>
        session.getBulk(oids, 0, maxRepetitions, (error, varbinds) => {
          const rows = (varbinds ?? []).map((v) => (Array.isArray(v) ? v : [v])) as RawVarbind[][];
          if (!error) for (const r of rows) counters.received += r.length;
          done(error, rows);
        }),
      ),
  };
}

function summarise(items: readonly string[], max: number): string {
  const shown = items.slice(0, max).join('; ');
  return items.length > max ? `${shown}; and ${items.length - max} more` : shown;
}
