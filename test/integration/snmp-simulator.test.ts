/**
 * The simulated device fleet, polled by the real collector over UDP: values that change between
 * polls as the seeded model predicts, counters that wrap, SNMPv3, the CLI, and a fleet of 200.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/core/config/index.ts';
import type { DevicePoll, Metric } from '../../src/core/telemetry/index.ts';
import {
  buildInventory,
  counterAt,
  createCollector,
  createScheduler,
  defaultProfile,
  loadInventory,
  type SimulatedAgent,
  startSimulator,
} from '../../src/producers/snmp/index.ts';
import { testConfig } from '../helpers/config.ts';
import { snmpget } from '../helpers/snmp-cli.ts';
import { waitFor } from '../helpers/wait.ts';

const slot = (n: bigint) => ({ slot: n, intervalS: 60, slotStartNs: n * 60_000_000_000n });
const metric = (p: DevicePoll, name: string, index?: string): Metric | undefined =>
  p.metrics.find((m) => m.name === name && (index === undefined || m.oid.endsWith(`.${index}`)));
const counter = (p: DevicePoll, name: string, index?: string): bigint => {
  const v = metric(p, name, index)?.value;
  if (v?.kind !== 'counter') throw new Error(`${name} is not a counter in ${p.deviceId}`);
  return v.value;
};

describe('simulated devices', () => {
  it('serve all 29 metrics with values that change between polls as the model predicts, and counters that wrap', async (ctx) => {
    const wrapAfterMs = 1500;
    const sim = await startSimulator({ count: 3, wrapAfterMs, seed: 42 });
    ctx.onTestFinished(() => sim.close());
    const { devices } = buildInventory(sim.inventory());
    const poll = createCollector();
    const pollAll = (n: bigint) => Promise.all(devices.map((d) => poll(d, defaultProfile, slot(n), {})));

    const before = Date.now();
    const first = await pollAll(1n);
    const afterFirst = Date.now();
    for (const p of first) {
      expect(p.status, p.deviceId).toMatchObject({ state: 'ok', reason: '' });
      expect(new Set(p.metrics.map((m) => m.name)).size).toBe(29);
    }

    // Device 1 (not near the wrap point): its counters are the model's, at the time of the poll.
    const agent1 = sim.agents[1] as SimulatedAgent;
    const p1 = first[1] as DevicePoll;
    const eth0 = agent1.device.interfaces.find((i) => i.descr === 'eth0');
    if (eth0 === undefined) throw new Error('no eth0');
    const inOctets = counter(p1, 'if_hc_in_octets', String(eth0.index));
    expect(inOctets).toBeGreaterThanOrEqual(counterAt(eth0.inOctets, before - agent1.startedAtMs));
    expect(inOctets).toBeLessThanOrEqual(counterAt(eth0.inOctets, afterFirst - agent1.startedAtMs));
    expect(metric(p1, 'sys_name')?.value).toEqual({ kind: 'string', value: agent1.device.id });

    // Device 0 starts near the wrap point: 32-bit CPU ticks and 64-bit octets wrap after 1.5 s.
    const agent0 = sim.agents[0] as SimulatedAgent;
    expect(agent0.device.nearWrap).toBe(true);
    const p0 = first[0] as DevicePoll;
    const ticks0 = counter(p0, 'cpu_raw_user');
    const octets0 = counter(p0, 'if_hc_in_octets', '2');
    expect(ticks0).toBeGreaterThan(2n ** 32n - 100_000n);
    expect(octets0).toBeGreaterThan(2n ** 64n - 10n ** 12n);

    const second = await waitFor(
      async () => {
        const polls = await pollAll(2n);
        const p = polls[0] as DevicePoll;
        return counter(p, 'cpu_raw_user') < ticks0 && counter(p, 'if_hc_in_octets', '2') < octets0
          ? polls
          : false;
      },
      { description: 'the near-wrap counters of sim-0000 to wrap', timeoutMs: 10_000, intervalMs: 200 },
    );
    const q0 = second[0] as DevicePoll;
    expect(metric(q0, 'cpu_raw_user')?.value).toMatchObject({ bits: 32 });
    expect(counter(q0, 'cpu_raw_user')).toBeLessThan(100_000n);
    expect(counter(q0, 'if_hc_in_octets', '2')).toBeLessThan(10n ** 12n);

    // Everything else moved forward too.
    const q1 = second[1] as DevicePoll;
    const uptime = (p: DevicePoll) => Number(metric(p, 'sys_uptime')?.value.value);
    expect(uptime(q1)).toBeGreaterThan(uptime(p1));
    expect(counter(q1, 'cpu_raw_idle')).toBeGreaterThan(counter(p1, 'cpu_raw_idle'));
    expect(counter(q1, 'if_hc_in_octets', String(eth0.index))).toBeGreaterThan(inOctets);
  });

  it('answers SNMPv3 authPriv and Net-SNMP’s own snmpget', async (ctx) => {
    const config = testConfig();
    const v3 = {
      user: 'sim-v3',
      authProtocol: 'sha256',
      authPass: 'sim-auth-pass',
      privProtocol: 'aes',
      privPass: 'sim-priv-pass',
    } as const;
    const sim = await startSimulator({ count: 1, v3 });
    ctx.onTestFinished(() => sim.close());
    const { devices } = buildInventory(
      sim.inventory({ v3Env: { authPassEnv: 'SIM_AUTH', privPassEnv: 'SIM_PRIV' } }),
      {
        env: { SIM_AUTH: v3.authPass, SIM_PRIV: v3.privPass },
      },
    );
    expect(devices[0]?.credentials.version).toBe('v3');
    const result = await createCollector()(
      devices[0] as (typeof devices)[number],
      defaultProfile,
      slot(1n),
      {},
    );
    expect(result.status).toMatchObject({ state: 'ok', reason: '' });

    const agent = sim.agents[0] as SimulatedAgent;
    const cli = await snmpget({ ...config, snmp: { ...config.snmp, host: agent.host, port: agent.port } }, [
      '1.3.6.1.2.1.1.5.0',
      '1.3.6.1.2.1.31.1.1.1.6.1',
    ]);
    expect(cli.map((v) => [v.type, v.oid])).toEqual([
      ['STRING', '1.3.6.1.2.1.1.5.0'],
      ['Counter64', '1.3.6.1.2.1.31.1.1.1.6.1'],
    ]);
    expect(cli[0]?.value).toBe(agent.device.id);
  });

  it('runs a fleet of 200 agents in one process, all polled ok by the scheduler', async (ctx) => {
    const heapBefore = process.memoryUsage().heapUsed;
    const sim = await startSimulator({ count: 200 });
    ctx.onTestFinished(() => sim.close());
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    // Measured ~17 MB (~85 KB per agent); a bound well above catches a regression.
    expect(heapGrowthMb).toBeLessThan(100);
    expect(new Set(sim.agents.map((a) => a.port)).size).toBe(200);

    const { devices } = buildInventory(sim.inventory({ intervalSeconds: 10 }));
    const polls: DevicePoll[] = [];
    const scheduler = createScheduler({ devices, maxConcurrentPolls: 32, onPoll: (p) => void polls.push(p) });
    scheduler.start();
    try {
      await waitFor(() => new Set(polls.map((p) => p.deviceId)).size === 200, {
        description: 'one poll of each of the 200 simulated devices',
        timeoutMs: 20_000,
      });
    } finally {
      await scheduler.close();
    }
    expect(polls.filter((p) => p.status.state !== 'ok').map((p) => [p.deviceId, p.status.reason])).toEqual(
      [],
    );
    expect(polls.every((p) => new Set(p.metrics.map((m) => m.name)).size === 29)).toBe(true);
    // A slot already due when the scheduler started may count as down (catch-up window too
    // short); every slot due after the start was polled.
    expect(scheduler.stats().missedSlots).toMatchObject({ overload: 0, late: 0 });
  });
});

describe('amoskys simulate devices', () => {
  it('serves the fleet on consecutive ports, writes an inventory, and stops on SIGINT', async (ctx) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-simulate-'));
    const inventoryFile = path.join(dir, 'fleet.yaml');
    const basePort = 30_000 + Math.floor(Math.random() * 30_000);
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        `${repoRoot}/src/cli/main.ts`,
        'simulate',
        'devices',
        '--count',
        '3',
        '--base-port',
        String(basePort),
        '--write-inventory',
        inventoryFile,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    ctx.onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    await waitFor(() => stderr.includes('Ctrl-C stops'), {
      description: 'the simulator to report its agents',
      timeoutMs: 20_000,
    });
    expect(stdout).toContain(`sim-0002  udp:127.0.0.1:${basePort + 2}`);

    const { devices } = loadInventory(inventoryFile);
    expect(devices.map((d) => [d.id, d.port])).toEqual([
      ['sim-0000', basePort],
      ['sim-0001', basePort + 1],
      ['sim-0002', basePort + 2],
    ]);
    const result = await createCollector()(
      devices[2] as (typeof devices)[number],
      defaultProfile,
      slot(1n),
      {},
    );
    expect(result.status.state).toBe('ok');
    expect(readFileSync(inventoryFile, 'utf8')).toMatch(/^# Simulated devices/);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopped after \d+ requests/);
  });
});
