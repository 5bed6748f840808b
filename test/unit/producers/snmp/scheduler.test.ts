import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/core/errors/index.ts';
import { type DevicePoll, idempotencyKey, type PollState } from '../../../../src/core/telemetry/index.ts';
import {
  buildInventory,
  createScheduler,
  type Device,
  jitterOffsetMs,
  type MissedSlot,
  type PollFunction,
  type PollTiming,
  type Scheduler,
  type SchedulerConfig,
} from '../../../../src/producers/snmp/index.ts';
import { FakeClock } from './fake-clock.ts';

const intervalS = 10;
const intervalMs = intervalS * 1000;
/** A wall-clock time in the middle of nowhere in particular: slot 170 000 000 of 10 s. */
const t0 = 1_700_000_000_000;

function devices(ids: string[], overrides: { timeoutMs?: number; deadlineMs?: number } = {}): Device[] {
  return buildInventory({
    devices: ids.map((id) => ({
      id,
      address: '127.0.0.1',
      version: 'v2c' as const,
      community: 'c',
      intervalSeconds: intervalS,
      timeoutMs: overrides.timeoutMs ?? 500,
      retries: 1,
      deadlineMs: overrides.deadlineMs ?? 4000,
    })),
  }).devices;
}

function result(
  device: Device,
  slot: { slot: bigint; slotStartNs: bigint },
  state: PollState,
  at: number,
): DevicePoll {
  return {
    deviceId: device.id,
    protocol: 'snmp',
    intervalS: device.intervalSeconds,
    slot: slot.slot,
    slotStartNs: slot.slotStartNs,
    observedAtNs: BigInt(at) * 1_000_000n,
    metrics: [],
    status: {
      state,
      reason: '',
      durationMs: 0,
      varbindsRequested: 0,
      varbindsReceived: 0,
      bytesCollected: 0,
    },
  };
}

/**
 * Fake devices: ids starting with `dead` never answer (like the collector, they report silence
 * after one request timeout and resolve unreachable when the deadline aborts them); the others
 * answer after `latencyMs`.
 */
function fakePoller(
  clock: FakeClock,
  latencyMs = 20,
): { poll: PollFunction; started: Map<string, number[]> } {
  const started = new Map<string, number[]>();
  const poll: PollFunction = (device, _profile, slot, options) => {
    started.set(device.id, [...(started.get(device.id) ?? []), clock.now()]);
    if (!device.id.startsWith('dead')) {
      return new Promise((resolve) =>
        clock.setTimeout(() => resolve(result(device, slot, 'ok', clock.now())), latencyMs),
      );
    }
    return new Promise((resolve) => {
      const silent = clock.setTimeout(() => options?.onSilent?.(), device.timeoutMs);
      options?.signal?.addEventListener('abort', () => {
        clock.clearTimeout(silent);
        resolve(result(device, slot, 'unreachable', clock.now()));
      });
    });
  };
  return { poll, started };
}

/** close() waits for polls in flight, which end by their deadline on the fake clock. */
async function finish(scheduler: Scheduler, clock: FakeClock): Promise<void> {
  const closing = scheduler.close();
  await clock.advance(intervalMs);
  await closing;
}

function run(config: Partial<SchedulerConfig> & Pick<SchedulerConfig, 'devices'>, clock: FakeClock) {
  const polls: { poll: DevicePoll; timing: PollTiming }[] = [];
  const missed: MissedSlot[] = [];
  const scheduler = createScheduler({
    clock,
    onPoll: (poll, timing) => {
      polls.push({ poll, timing });
    },
    onMissedSlot: (m) => missed.push(m),
    ...config,
  });
  return { scheduler, polls, missed };
}

describe('scheduler timing', () => {
  it('polls every device once per slot at a fixed, id-derived offset into the slot', async () => {
    const clock = new FakeClock(t0);
    const fleet = devices(['r1', 'r2', 'r3']);
    const { poll } = fakePoller(clock);
    const { scheduler, polls, missed } = run({ devices: fleet, poll }, clock);
    scheduler.start();
    await clock.advance(5 * intervalMs);
    await finish(scheduler, clock);

    expect(missed).toEqual([]);
    for (const d of fleet) {
      const offset = jitterOffsetMs(d.id, intervalMs, 0.5);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(intervalMs / 2);
      const mine = polls.filter((p) => p.poll.deviceId === d.id);
      const slots = mine.map((p) => p.poll.slot);
      // Consecutive slots, numbered floor(slot start / interval) on the wall clock.
      expect(slots.length).toBeGreaterThanOrEqual(5);
      expect(slots).toEqual(slots.map((_, i) => (slots[0] ?? 0n) + BigInt(i)));
      for (const { poll: p, timing } of mine) {
        expect(timing.scheduledAtMs).toBe(Number(p.slot) * intervalMs + offset);
        expect(timing.startedAtMs).toBe(timing.scheduledAtMs);
        expect(p.slotStartNs).toBe(p.slot * BigInt(intervalMs) * 1_000_000n);
        expect(timing.deadlineAtMs).toBe(timing.scheduledAtMs + 4000);
      }
    }
    // Offsets differ between devices (load spreads), and are the same on every run.
    const offsets = fleet.map((d) => jitterOffsetMs(d.id, intervalMs, 0.5));
    expect(new Set(offsets).size).toBe(3);
    expect(fleet.map((d) => jitterOffsetMs(d.id, intervalMs, 0.5))).toEqual(offsets);
  });

  it('gives a re-polled slot the same idempotency key after a restart', async () => {
    const fleet = devices(['r1']);
    const offset = jitterOffsetMs('r1', intervalMs, 0.5);
    const keys: string[] = [];
    for (let restart = 0; restart < 2; restart++) {
      // Start just after the device's offset: the current slot's window is open.
      const clock = new FakeClock(170_000_000 * intervalMs + offset + 100 * (restart + 1));
      const { poll } = fakePoller(clock);
      const { scheduler, polls } = run({ devices: fleet, poll }, clock);
      scheduler.start();
      await clock.advance(100);
      await finish(scheduler, clock);
      keys.push(...polls.map((p) => idempotencyKey(p.poll)));
    }
    expect(keys).toEqual(['r1/10/170000000', 'r1/10/170000000']);
  });

  it('counts the slots missed while the process was down', async () => {
    const fleet = devices(['r1']);
    const clock = new FakeClock(170_000_010 * intervalMs + intervalMs - 1);
    const { poll } = fakePoller(clock);
    const { scheduler, missed, polls } = run(
      { devices: fleet, poll, lastSlots: new Map([['r1', 170_000_005n]]) },
      clock,
    );
    scheduler.start();
    await clock.advance(intervalMs);
    await finish(scheduler, clock);
    // 170000010's window closed before the start; 170000011 is the first polled.
    expect(missed.map((m) => [m.slot, m.reason])).toEqual(
      [6n, 7n, 8n, 9n, 10n].map((k) => [170_000_000n + k, 'down']),
    );
    expect(polls[0]?.poll.slot).toBe(170_000_011n);
    expect(scheduler.stats().missedSlots.down).toBe(5);
  });

  it('counts a slot already due at start that finds no permit in its window as down, not overload', async () => {
    // Both devices were due at the slot start (no jitter); the window (deadline - one timeout =
    // 3500 ms) has 5 ms left at start, and the one permit is busy for 20 ms.
    const clock = new FakeClock(170_000_000 * intervalMs + 3500 - 5);
    const { poll } = fakePoller(clock, 20);
    const { scheduler, missed, polls } = run(
      { devices: devices(['r1', 'r2']), poll, maxConcurrentPolls: 1, jitterFraction: 0 },
      clock,
    );
    scheduler.start();
    await clock.advance(100);
    await finish(scheduler, clock);
    expect(polls.map((p) => p.poll.slot)).toEqual([170_000_000n]);
    expect(missed).toEqual([
      { deviceId: polls[0]?.poll.deviceId === 'r1' ? 'r2' : 'r1', slot: 170_000_000n, reason: 'down' },
    ]);
  });

  it('counts slots whose timer fired too late (blocked event loop), then polls on', async () => {
    const fleet = devices(['r1']);
    const clock = new FakeClock(t0);
    const { poll } = fakePoller(clock);
    const { scheduler, missed, polls } = run({ devices: fleet, poll }, clock);
    scheduler.start();
    await clock.advance(intervalMs);
    const before = polls.length;
    clock.jump(3 * intervalMs + intervalMs / 2 + 1);
    await clock.advance(2 * intervalMs);
    await finish(scheduler, clock);
    expect(missed.length).toBeGreaterThanOrEqual(3);
    expect(missed.every((m) => m.reason === 'late')).toBe(true);
    expect(polls.length).toBeGreaterThan(before);
    // Every slot from the first to the last is accounted for: polled or missed, never both.
    const polled = polls.map((p) => p.poll.slot);
    const all = [...polled, ...missed.map((m) => m.slot)].sort((a, b) => (a < b ? -1 : 1));
    expect(new Set(all).size).toBe(all.length);
    const first = all[0] ?? 0n;
    expect(all).toEqual(all.map((_, i) => first + BigInt(i)));
  });
});

describe('scheduler deadlines and isolation', () => {
  it('emits an unreachable poll at its deadline', async () => {
    const clock = new FakeClock(t0);
    const { poll } = fakePoller(clock);
    const { scheduler, polls } = run({ devices: devices(['dead-1']), poll }, clock);
    scheduler.start();
    await clock.advance(intervalMs);
    await finish(scheduler, clock);
    const first = polls[0];
    expect(first?.poll.status.state).toBe('unreachable');
    expect(first?.timing.emittedAtMs).toBe(first?.timing.deadlineAtMs);
  });

  it('abandons a poll function that ignores its deadline, with an error poll', async () => {
    const clock = new FakeClock(t0);
    const hang: PollFunction = () => new Promise(() => {});
    const { scheduler, polls } = run({ devices: devices(['r1']), poll: hang }, clock);
    scheduler.start();
    await clock.advance(intervalMs);
    expect(polls[0]?.poll.status).toMatchObject({
      state: 'error',
      reason: expect.stringContaining('did not settle'),
    });
    expect((polls[0]?.timing.emittedAtMs ?? 0) - (polls[0]?.timing.deadlineAtMs ?? 0)).toBe(1000);
    await finish(scheduler, clock);
  });

  it('turns a poll function that throws into an error poll', async () => {
    const clock = new FakeClock(t0);
    const broken: PollFunction = async () => {
      throw new TypeError('bug');
    };
    const { scheduler, polls } = run({ devices: devices(['r1']), poll: broken }, clock);
    scheduler.start();
    await clock.advance(intervalMs);
    await finish(scheduler, clock);
    expect(polls[0]?.poll.status).toMatchObject({ state: 'error', reason: 'poll failed: TypeError: bug' });
  });

  it('never lets dead devices delay live ones, not even in the first slot', async () => {
    const clock = new FakeClock(t0);
    const dead = ['dead-1', 'dead-2', 'dead-3', 'dead-4', 'dead-5'];
    const live = ['r1', 'r2', 'r3'];
    const { poll } = fakePoller(clock, 20);
    const { scheduler, polls, missed } = run(
      { devices: devices([...dead, ...live]), poll, maxConcurrentPolls: 1, maxSilentPolls: 10 },
      clock,
    );
    scheduler.start();
    await clock.advance(4 * intervalMs);
    await finish(scheduler, clock);

    expect(missed).toEqual([]);
    const livePolls = polls.filter((p) => live.includes(p.poll.deviceId));
    expect(livePolls.length).toBeGreaterThanOrEqual(3 * 4);
    for (const { poll: p, timing } of livePolls) {
      expect(p.status.state).toBe('ok');
      // At worst behind one dead device's first request timeout (500 ms), never its deadline.
      expect(timing.startedAtMs - timing.scheduledAtMs).toBeLessThanOrEqual(500 + 20 * live.length);
    }
    const deadPolls = polls.filter((p) => dead.includes(p.poll.deviceId));
    for (const { poll: p, timing } of deadPolls) {
      expect(p.status.state).toBe('unreachable');
      expect(timing.emittedAtMs).toBeLessThanOrEqual(timing.deadlineAtMs);
    }
    expect(scheduler.stats().polls.unreachable).toBe(deadPolls.length);
  });

  it('counts a slot it had no permit for as missed (overload), never skips it silently', async () => {
    const clock = new FakeClock(t0);
    const dead = ['dead-1', 'dead-2', 'dead-3'];
    const { poll } = fakePoller(clock, 20);
    // One active and one silent permit: the second dead device keeps the active permit until its
    // deadline, and the live device's window closes before it gets one.
    const { scheduler, polls, missed } = run(
      {
        devices: devices([...dead, 'r1'], { timeoutMs: 500, deadlineMs: 4000 }),
        poll,
        maxConcurrentPolls: 1,
        maxSilentPolls: 1,
        jitterFraction: 0,
      },
      clock,
    );
    scheduler.start();
    await clock.advance(3 * intervalMs);
    await finish(scheduler, clock);
    const stats = scheduler.stats();
    expect(stats.missedSlots.overload).toBeGreaterThan(0);
    expect(missed.every((m) => m.reason === 'overload')).toBe(true);
    // Every slot of every device is either polled or counted.
    for (const id of [...dead, 'r1']) {
      const slots = [
        ...polls.filter((p) => p.poll.deviceId === id).map((p) => p.poll.slot),
        ...missed.filter((m) => m.deviceId === id).map((m) => m.slot),
      ].sort((a, b) => (a < b ? -1 : 1));
      expect(new Set(slots).size).toBe(slots.length);
      expect(slots.length).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('scheduler lifecycle', () => {
  it('holds the permit while onPoll runs, counts onPoll failures, and closes idempotently', async () => {
    const clock = new FakeClock(t0);
    const { poll } = fakePoller(clock, 10);
    let calls = 0;
    const scheduler = createScheduler({
      clock,
      devices: devices(['r1', 'r2']),
      poll,
      maxConcurrentPolls: 1,
      onPoll: async () => {
        calls++;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
        if (calls === 1) throw new Error('broker down');
      },
    });
    scheduler.start();
    scheduler.start();
    await clock.advance(intervalMs);
    const closing = scheduler.close();
    expect(scheduler.close()).toBe(closing);
    await clock.advance(1000);
    await closing;
    const stats = scheduler.stats();
    expect(stats.onPollErrors).toBe(1);
    expect(stats.polls.ok).toBe(calls);
    expect(stats.inFlight).toBe(0);
    await clock.advance(3 * intervalMs);
    expect(scheduler.stats().polls.ok).toBe(calls);
    expect(clock.pending).toBe(0);
  });

  it('refuses unknown profiles, duplicate ids and deadlines not below the interval', () => {
    const [a] = devices(['a']);
    if (a === undefined) throw new Error('no device');
    expect(() =>
      createScheduler({
        devices: [a, { ...a }, { ...a, id: 'b', profile: 'nope' }, { ...a, id: 'c', deadlineMs: intervalMs }],
        onPoll: () => {},
      }),
    ).toThrow(ConfigError);
    try {
      createScheduler({ devices: [a, { ...a }, { ...a, id: 'b', profile: 'nope' }], onPoll: () => {} });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['devices.1.id', 'devices.2.profile']);
    }
    expect(() => createScheduler({ devices: [a], onPoll: () => {}, maxConcurrentPolls: 0 })).toThrow(
      /maxConcurrentPolls/,
    );
  });
});
