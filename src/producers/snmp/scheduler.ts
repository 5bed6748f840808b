/**
 * Poll scheduler: many devices, each on its own interval, under one concurrency bound.
 *
 * Consumes: the devices of an inventory and their profiles.
 * Produces: one DevicePoll per device per slot, handed to `onPoll` (the Kafka producer is wired
 *   there), plus counters of every slot that could not be polled.
 * Delivery guarantee: every slot of every device ends in exactly one of: a DevicePoll given to
 *   `onPoll` (any status, including unreachable), or a missed-slot count with its reason
 *   (`onMissedSlot`). Nothing is skipped silently.
 * Idempotency key: `<device_id>/<interval_s>/<slot>`, slot = floor(slot start / interval) on
 *   the wall clock, so a restarted process, or a retried poll, computes the same key for the
 *   same slot, and two slots never share one.
 *
 * Timing: slot k of a device starts at k × interval; the device polls at a fixed offset into
 * the slot (a hash of its id, below jitterFraction × interval), so load spreads evenly without
 * random drift, and its poll must end by offset + deadlineMs (< interval, so two polls of one
 * device never overlap). Request timeouts and retries are fitted inside that deadline.
 *
 * Isolation: two pools of permits. maxConcurrentPolls active permits serve devices that answer
 * (or are not known yet); maxSilentPolls silent permits serve devices whose last poll was
 * unreachable, and polls whose first request attempt got no byte back move there, giving their
 * active permit back at once. A dead device therefore holds an active permit for one request
 * timeout at most, never until its deadline, and a fleet of dead devices cannot starve the live
 * ones; in-flight polls stay below maxConcurrentPolls + maxSilentPolls. Waiting polls are served
 * earliest deadline first; a poll that cannot start while one request timeout is still left
 * before its deadline is counted as missed (overload) rather than run without time and reported
 * as an unreachable device.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError, type ConfigIssue } from '../../core/errors/index.ts';
import type { DevicePoll, PollState } from '../../core/telemetry/index.ts';
import { msToNs, systemClock } from './clock.ts';
import { pollDevice } from './collector.ts';
import {
  resolveOptions,
  type SchedulerOptions,
  schedulerDefaults,
  schedulerOptionsSchema,
} from './options.ts';
import { builtinProfiles } from './profile.ts';
import {
  type Clock,
  type Device,
  MissedReason,
  type PollFunction,
  type PollTiming,
  type Profile,
  type SchedulerStats,
  type SlotInfo,
} from './types.ts';

/** A slot that was not polled. */
export interface MissedSlot {
  deviceId: string;
  slot: bigint;
  reason: MissedReason;
}

/** What {@link createScheduler} needs. */
export interface SchedulerConfig extends Partial<SchedulerOptions> {
  devices: readonly Device[];
  /** Receives every poll; the permit of the poll is held until it settles (backpressure). */
  onPoll: (poll: DevicePoll, timing: PollTiming) => void | Promise<void>;
  /** Receives every slot that was not polled. */
  onMissedSlot?: (missed: MissedSlot) => void;
  /** @default the built-in profiles */
  profiles?: ReadonlyMap<string, Profile>;
  /** @default pollDevice (the collector with default options) */
  poll?: PollFunction;
  /** @default the system clock */
  clock?: Clock;
  /**
   * Last slot polled per device before this process started (e.g. read back from the raw topic):
   * the slots between it and the first one polled now are counted as missed (down).
   */
  lastSlots?: ReadonlyMap<string, bigint>;
  logger?: Logger;
}

/** A running scheduler. */
export interface Scheduler {
  /** Starts the timers; a second call does nothing. */
  start(): void;
  /** Resolves when the polls running now have been handed to onPoll. */
  flush(): Promise<void>;
  /** Stops scheduling, drops waiting polls, waits for running ones. Safe to call twice. */
  close(): Promise<void>;
  stats(): SchedulerStats;
}

/** Extra time a poll function gets after its deadline before the scheduler gives up on it, ms. */
const settleGraceMs = 1000;

/**
 * The fixed offset of a device's poll into each slot, ms: a hash of the id, uniform in
 * [0, jitterFraction × interval). Deterministic, so restarts keep each device's rhythm.
 */
export function jitterOffsetMs(deviceId: string, intervalMs: number, jitterFraction: number): number {
  const h = createHash('sha256').update(deviceId).digest().readUInt32BE(0);
  return Math.floor((h / 2 ** 32) * jitterFraction * intervalMs);
}

interface DeviceState {
  device: Device;
  profile: Profile;
  intervalMs: number;
  offsetMs: number;
  deadlineMs: number;
  /** Latest start that still leaves one request timeout before the deadline, ms from due. */
  latestStartMs: number;
  timer?: unknown;
  suspect: boolean;
}

interface Waiting {
  state: DeviceState;
  slot: number;
  dueAt: number;
  deadlineAt: number;
  latestStartAt: number;
  /** Due before start(): if it cannot start in time, it was missed because the process was down. */
  catchUp: boolean;
  expiry: unknown;
}

/**
 * Creates a scheduler for `config.devices`.
 * @throws ConfigError for an invalid option, an unknown profile, a duplicate id, or a deadline
 *   not below the interval.
 */
export function createScheduler(config: SchedulerConfig): Scheduler {
  const options = resolveOptions(
    schedulerOptionsSchema,
    schedulerDefaults,
    {
      maxConcurrentPolls: config.maxConcurrentPolls,
      maxSilentPolls: config.maxSilentPolls,
      jitterFraction: config.jitterFraction,
    } as Partial<SchedulerOptions>,
    'scheduler options',
  );
  const maxActive = options.maxConcurrentPolls;
  const maxSilent = options.maxSilentPolls ?? options.maxConcurrentPolls;
  const clock = config.clock ?? systemClock;
  const pollFn = config.poll ?? pollDevice;
  const profiles = config.profiles ?? builtinProfiles;
  const logger = config.logger?.child({ component: 'snmp-scheduler' });

  const issues: ConfigIssue[] = [];
  const states: DeviceState[] = [];
  const ids = new Set<string>();
  config.devices.forEach((device, i) => {
    const issue = (key: string, message: string, value: unknown) =>
      issues.push({
        path: `devices.${i}.${key}`,
        message: `device ${device.id}: ${message}`,
        value,
        source: 'scheduler',
      });
    if (ids.has(device.id)) issue('id', 'duplicate id', device.id);
    ids.add(device.id);
    const profile = profiles.get(device.profile);
    if (profile === undefined) issue('profile', 'unknown profile', device.profile);
    const intervalMs = device.intervalSeconds * 1000;
    if (!(device.deadlineMs > 0 && device.deadlineMs < intervalMs)) {
      issue('deadlineMs', `must be above 0 and below the interval (${intervalMs} ms)`, device.deadlineMs);
    }
    if (profile === undefined) return;
    states.push({
      device,
      profile,
      intervalMs,
      offsetMs: jitterOffsetMs(device.id, intervalMs, options.jitterFraction),
      deadlineMs: device.deadlineMs,
      latestStartMs: device.deadlineMs - Math.min(device.timeoutMs, device.deadlineMs / 2),
      suspect: false,
    });
  });
  if (issues.length > 0) throw new ConfigError(issues);

  const stats: SchedulerStats = {
    polls: { ok: 0, partial: 0, unreachable: 0, auth_failed: 0, error: 0 } satisfies Record<
      PollState,
      number
    >,
    missedSlots: { down: 0, overload: 0, late: 0 },
    inFlight: 0,
    silentInFlight: 0,
    queued: 0,
    bytesCollected: 0,
    varbindsReceived: 0,
    onPollErrors: 0,
  };
  const waiting: Waiting[] = [];
  const running = new Set<Promise<void>>();
  let activeInFlight = 0;
  let silentInFlight = 0;
  const syncCounts = () => {
    stats.inFlight = activeInFlight + silentInFlight;
    stats.silentInFlight = silentInFlight;
  };
  let started = false;
  let closing: Promise<void> | undefined;

  const missed = (state: DeviceState, slot: number, reason: MissedReason, count = 1) => {
    if (count <= 0) return;
    stats.missedSlots[reason] += count;
    logger?.debug({ device: state.device.id, slot, reason, count }, 'slot missed');
    if (config.onMissedSlot !== undefined) {
      for (let k = 0; k < count; k++) {
        config.onMissedSlot({ deviceId: state.device.id, slot: BigInt(slot + k), reason });
      }
    }
  };

  const dueAt = (state: DeviceState, slot: number) => slot * state.intervalMs + state.offsetMs;

  const arm = (state: DeviceState, slot: number) => {
    if (closing !== undefined) return;
    state.timer = clock.setTimeout(() => fire(state, slot), dueAt(state, slot) - clock.now());
  };

  /** The timer of `slot` fired: enqueue its poll, or count it late, and arm the next slot. */
  const fire = (state: DeviceState, slot: number) => {
    if (closing !== undefined) return;
    const now = clock.now();
    let next = slot;
    if (now >= dueAt(state, slot) + state.latestStartMs) {
      // Fired too late to poll this slot in time: count every slot passed over, poll the
      // current one if its window is still open.
      const current = Math.floor((now - state.offsetMs) / state.intervalMs);
      const currentOpen = now < dueAt(state, current) + state.latestStartMs;
      missed(state, slot, MissedReason.Late, current - slot + (currentOpen ? 0 : 1));
      next = currentOpen ? current : current + 1;
      if (!currentOpen) {
        arm(state, next);
        return;
      }
    }
    enqueue(state, next);
    arm(state, next + 1);
  };

  const enqueue = (state: DeviceState, slot: number, catchUp = false) => {
    const due = dueAt(state, slot);
    const entry: Waiting = {
      state,
      slot,
      dueAt: due,
      deadlineAt: due + state.deadlineMs,
      latestStartAt: due + state.latestStartMs,
      catchUp,
      expiry: undefined,
    };
    entry.expiry = clock.setTimeout(() => {
      const i = waiting.indexOf(entry);
      if (i < 0) return;
      waiting.splice(i, 1);
      stats.queued = waiting.length;
      missed(state, slot, catchUp ? MissedReason.Down : MissedReason.Overload);
    }, entry.latestStartAt - clock.now());
    waiting.push(entry);
    stats.queued = waiting.length;
    dispatch();
  };

  /** Starts waiting polls while their pool has permits: earliest deadline first. */
  const dispatch = () => {
    while (waiting.length > 0 && closing === undefined) {
      let best = -1;
      for (let i = 0; i < waiting.length; i++) {
        const w = waiting[i];
        if (w === undefined) continue;
        if (w.state.suspect ? silentInFlight >= maxSilent : activeInFlight >= maxActive) continue;
        const b = best < 0 ? undefined : waiting[best];
        if (b === undefined || w.latestStartAt < b.latestStartAt) best = i;
      }
      if (best < 0) return;
      const [entry] = waiting.splice(best, 1);
      stats.queued = waiting.length;
      if (entry === undefined) return;
      clock.clearTimeout(entry.expiry);
      if (clock.now() > entry.latestStartAt) {
        missed(entry.state, entry.slot, entry.catchUp ? MissedReason.Down : MissedReason.Overload);
        continue;
      }
      const run = runPoll(entry);
      running.add(run);
      void run.finally(() => {
        running.delete(run);
        dispatch();
      });
    }
  };

  const runPoll = async (entry: Waiting): Promise<void> => {
    const { state, slot } = entry;
    let silent = state.suspect;
    if (silent) silentInFlight++;
    else activeInFlight++;
    syncCounts();
    const onSilent = () => {
      if (silent || silentInFlight >= maxSilent) return;
      silent = true;
      activeInFlight--;
      silentInFlight++;
      syncCounts();
      dispatch();
    };
    const startedAt = clock.now();
    const slotInfo: SlotInfo = {
      slot: BigInt(slot),
      intervalS: state.device.intervalSeconds,
      slotStartNs: msToNs(slot * state.intervalMs),
    };
    const controller = new AbortController();
    const deadlineTimer = clock.setTimeout(() => controller.abort(), entry.deadlineAt - startedAt);
    let giveUp: unknown;
    try {
      const poll = await Promise.race([
        pollFn(state.device, state.profile, slotInfo, {
          signal: controller.signal,
          deadlineAtMs: entry.deadlineAt,
          clock,
          onSilent,
        }).catch((err: unknown) =>
          failedPoll(state.device, slotInfo, startedAt, `poll failed: ${String(err)}`),
        ),
        new Promise<DevicePoll>((resolve) => {
          giveUp = clock.setTimeout(
            () =>
              resolve(
                failedPoll(
                  state.device,
                  slotInfo,
                  startedAt,
                  'poll did not settle by its deadline; abandoned',
                ),
              ),
            entry.deadlineAt + settleGraceMs - startedAt,
          );
        }),
      ]);
      clock.clearTimeout(deadlineTimer);
      clock.clearTimeout(giveUp);
      state.suspect = poll.status.state === 'unreachable';
      stats.polls[poll.status.state]++;
      stats.bytesCollected += poll.status.bytesCollected;
      stats.varbindsReceived += poll.status.varbindsReceived;
      const timing: PollTiming = {
        scheduledAtMs: entry.dueAt,
        startedAtMs: startedAt,
        deadlineAtMs: entry.deadlineAt,
        emittedAtMs: clock.now(),
      };
      try {
        await config.onPoll(poll, timing);
      } catch (err) {
        stats.onPollErrors++;
        logger?.warn({ err, device: state.device.id, onPollErrors: stats.onPollErrors }, 'onPoll failed');
      }
    } finally {
      if (silent) silentInFlight--;
      else activeInFlight--;
      syncCounts();
    }
  };

  return {
    start() {
      if (started || closing !== undefined) return;
      started = true;
      const now = clock.now();
      for (const state of states) {
        // The latest slot already due; poll it now if its window is still open.
        const latest = Math.floor((now - state.offsetMs) / state.intervalMs);
        const open = now < dueAt(state, latest) + state.latestStartMs;
        const first = open ? latest : latest + 1;
        const last = config.lastSlots?.get(state.device.id);
        if (last !== undefined) missed(state, Number(last) + 1, MissedReason.Down, first - Number(last) - 1);
        if (open && (last === undefined || Number(last) < latest)) {
          enqueue(state, latest, dueAt(state, latest) < now);
          arm(state, latest + 1);
        } else {
          arm(state, latest + 1);
        }
      }
    },
    async flush() {
      await Promise.all([...running]);
    },
    close() {
      if (closing !== undefined) return closing;
      for (const state of states) if (state.timer !== undefined) clock.clearTimeout(state.timer);
      for (const w of waiting) clock.clearTimeout(w.expiry);
      waiting.length = 0;
      stats.queued = 0;
      closing = Promise.all([...running]).then(() => undefined);
      return closing;
    },
    stats() {
      return structuredClone(stats);
    },
  };
}

function failedPoll(device: Device, slot: SlotInfo, startedAt: number, reason: string): DevicePoll {
  return {
    deviceId: device.id,
    protocol: 'snmp',
    intervalS: slot.intervalS,
    slot: slot.slot,
    slotStartNs: slot.slotStartNs,
    observedAtNs: msToNs(startedAt),
    metrics: [],
    status: {
      state: 'error',
      reason,
      durationMs: 0,
      varbindsRequested: 0,
      varbindsReceived: 0,
      bytesCollected: 0,
    },
  };
}
