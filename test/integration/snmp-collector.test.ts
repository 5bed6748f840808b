/**
 * The SNMP collector and scheduler against the real snmpd of the stack: every value checked
 * against Net-SNMP's own snmpget/snmpbulkwalk, SNMPv3 authPriv and its failures, and a dead
 * device that must not delay the live ones.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { DevicePoll } from '../../src/core/telemetry/index.ts';
import {
  buildInventory,
  createCollector,
  createScheduler,
  type Device,
  type DeviceInput,
  defaultProfile,
  type PollTiming,
} from '../../src/producers/snmp/index.ts';
import { testConfig } from '../helpers/config.ts';
import { cliRead, expectMetricsMatchAgent } from '../helpers/snmp-compare.ts';
import { waitFor } from '../helpers/wait.ts';

const config = testConfig();
const { snmp } = config;
const slot = { slot: 1n, intervalS: 60, slotStartNs: 60_000_000_000n };

const v2c = (id: string, extra: Partial<DeviceInput> = {}): DeviceInput =>
  ({
    id,
    address: snmp.host,
    port: snmp.port,
    version: 'v2c',
    community: snmp.community,
    ...extra,
  }) as DeviceInput;
const v3 = (id: string, extra: Record<string, unknown> = {}): DeviceInput =>
  ({
    id,
    address: snmp.host,
    port: snmp.port,
    version: 'v3',
    user: snmp.v3.user,
    level: 'authPriv',
    authProtocol: snmp.v3.authProtocol,
    authPass: snmp.v3.authPass,
    privProtocol: snmp.v3.privProtocol,
    privPass: snmp.v3.privPass,
    ...extra,
  }) as DeviceInput;
const device = (input: DeviceInput): Device => {
  const [d] = buildInventory({ devices: [input] }).devices;
  if (d === undefined) throw new Error('no device');
  return d;
};

describe('collector against the real snmpd', () => {
  it('reads all 29 metric definitions in one poll, each value equal to a direct read of its OID', async () => {
    const poll = createCollector();
    const before = await cliRead(config);
    const result = await poll(device(v2c('local-snmpd')), defaultProfile, slot, {});
    const after = await cliRead(config);

    expect(result.status).toMatchObject({ state: 'ok', reason: '' });
    const names = new Set(result.metrics.map((m) => m.name));
    expect([...names].sort()).toEqual(defaultProfile.metrics.map((m) => m.name).sort());
    expect(result.status.varbindsReceived).toBeGreaterThanOrEqual(result.metrics.length);
    expect(result.status.bytesCollected).toBeGreaterThan(1000);

    expectMetricsMatchAgent(result.metrics, before, after);
  });

  it('polls over SNMPv3 authPriv (SHA-256, AES) with the same result', async () => {
    const poll = createCollector();
    const viaV3 = await poll(device(v3('local-snmpd-v3')), defaultProfile, slot, {});
    const viaV2c = await poll(device(v2c('local-snmpd')), defaultProfile, slot, {});
    expect(viaV3.status).toMatchObject({ state: 'ok', reason: '' });
    expect(new Set(viaV3.metrics.map((m) => m.name)).size).toBe(29);
    const sysName = (p: DevicePoll) => p.metrics.find((m) => m.name === 'sys_name')?.value;
    expect(sysName(viaV3)).toEqual(sysName(viaV2c));
    // Encryption and the discovery round trip make v3 responses larger.
    expect(viaV3.status.bytesCollected).toBeGreaterThan(viaV2c.status.bytesCollected);
  });

  it('gives auth_failed with a clear reason for wrong SNMPv3 credentials', async () => {
    const poll = createCollector();
    const fast = { timeoutMs: 300, retries: 0 };
    const wrongAuth = await poll(
      device(v3('bad-auth', { ...fast, authPass: 'not-the-auth-pass' })),
      defaultProfile,
      slot,
      {},
    );
    expect(wrongAuth.status.state).toBe('auth_failed');
    expect(wrongAuth.status.reason).toMatch(/SNMPv3 authentication failed: Wrong Digest/);
    expect(wrongAuth.metrics).toEqual([]);

    const wrongUser = await poll(
      device(v3('bad-user', { ...fast, user: 'nobody-here' })),
      defaultProfile,
      slot,
      {},
    );
    expect(wrongUser.status).toMatchObject({
      state: 'auth_failed',
      reason: expect.stringMatching(/Unknown User Name/),
    });

    // snmpd drops what it cannot decrypt: no error, only silence after engine discovery.
    const wrongPriv = await poll(
      device(v3('bad-priv', { ...fast, privPass: 'not-the-priv-pass' })),
      defaultProfile,
      slot,
      {},
    );
    expect(wrongPriv.status.state).toBe('auth_failed');
    expect(wrongPriv.status.reason).toMatch(/answered engine discovery.*privacy passphrase/);

    // rouser ... priv: the agent refuses authNoPriv for this user.
    const noPriv = await poll(
      device(v3('no-priv', { ...fast, level: 'authNoPriv', privProtocol: undefined, privPass: undefined })),
      defaultProfile,
      slot,
      {},
    );
    expect(noPriv.status).toMatchObject({
      state: 'auth_failed',
      reason: expect.stringMatching(/authorizationError/),
    });
  });
});

/** A UDP port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('scheduler against the real snmpd', () => {
  it('reports an unreachable device within its deadline while the others are polled on time', async () => {
    const deadPort = await closedPort();
    const timing = { intervalSeconds: 2, deadlineMs: 1500, timeoutMs: 300, retries: 3 };
    const { devices } = buildInventory({
      devices: [
        v2c('live-a', timing),
        v2c('live-b', timing),
        v3('live-v3', timing),
        v2c('dead', { ...timing, address: '127.0.0.1', port: deadPort }),
      ],
    });
    const emitted: { poll: DevicePoll; timing: PollTiming }[] = [];
    const scheduler = createScheduler({
      devices,
      maxConcurrentPolls: 2,
      onPoll: (poll, t) => {
        emitted.push({ poll, timing: t });
      },
    });
    const startedAt = Date.now();
    scheduler.start();
    try {
      await waitFor(
        () =>
          ['live-a', 'live-b', 'live-v3', 'dead'].every(
            (id) => emitted.filter((e) => e.poll.deviceId === id).length >= 2,
          ),
        { description: 'two polls of every device', timeoutMs: 15_000 },
      );
    } finally {
      await scheduler.close();
    }

    const dead = emitted.filter((e) => e.poll.deviceId === 'dead');
    for (const { poll, timing: t } of dead) {
      expect(poll.status.state).toBe('unreachable');
      expect(poll.status.reason).toMatch(/no answer/);
      // Emitted by its deadline (1500 ms after it was due), give or take timer latency.
      expect(t.emittedAtMs - t.scheduledAtMs).toBeLessThanOrEqual(1500 + 100);
    }
    const live = emitted.filter((e) => e.poll.deviceId !== 'dead');
    for (const { poll, timing: t } of live) {
      expect(poll.status.state, poll.deviceId).toBe('ok');
      // On time: started when due (a slot already due at start: at start) and finished long
      // before one request timeout (300 ms) could have passed.
      const due = Math.max(t.scheduledAtMs, startedAt);
      expect(t.startedAtMs - due, poll.deviceId).toBeLessThan(100);
      expect(t.emittedAtMs - due, poll.deviceId).toBeLessThan(250);
    }
    // Consecutive slots per device, and no slot missed.
    for (const id of ['live-a', 'live-b', 'live-v3', 'dead']) {
      const slots = emitted.filter((e) => e.poll.deviceId === id).map((e) => e.poll.slot);
      expect(slots).toEqual(slots.map((_, i) => (slots[0] ?? 0n) + BigInt(i)));
    }
    // A slot already due at start may be counted down if its window was nearly over.
    expect(scheduler.stats().missedSlots).toMatchObject({ overload: 0, late: 0 });
  });
});
