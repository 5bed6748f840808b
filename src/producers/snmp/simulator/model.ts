/**
 * Value model of a simulated device: every value is a pure function of the device's seed and the
 * time since its agent started, so a test can predict what a poll reads. Counters increase at
 * device-specific rates and wrap at 2^32 / 2^64; some devices start near the wrap point so that
 * it happens within seconds. Gauges move along slow sine waves.
 */

/** A counter: `start + rate × t`, modulo 2^bits. */
export interface CounterSpec {
  start: bigint;
  /** Increase per second (fractions accumulate; the value is floored). */
  ratePerSecond: number;
  bits: 32 | 64;
}

/** A gauge: `base + amplitude × sin(2π t / period + phase)`, rounded, clamped to [min, max]. */
export interface GaugeSpec {
  base: number;
  amplitude: number;
  periodMs: number;
  phase: number;
  min: number;
  max: number;
}

/** Value of a counter `elapsedMs` after the agent started. */
export function counterAt(spec: CounterSpec, elapsedMs: number): bigint {
  const increase = BigInt(Math.floor((spec.ratePerSecond * Math.max(0, elapsedMs)) / 1000));
  return BigInt.asUintN(spec.bits, spec.start + increase);
}

/** Milliseconds after start at which a counter wraps for the first time (Infinity if never). */
export function firstWrapMs(spec: CounterSpec): number {
  if (spec.ratePerSecond <= 0) return Number.POSITIVE_INFINITY;
  const headroom = (1n << BigInt(spec.bits)) - spec.start;
  return Math.ceil((Number(headroom) / spec.ratePerSecond) * 1000);
}

/** Value of a gauge `elapsedMs` after the agent started. */
export function gaugeAt(spec: GaugeSpec, elapsedMs: number): number {
  const v = Math.round(
    spec.base + spec.amplitude * Math.sin((2 * Math.PI * elapsedMs) / spec.periodMs + spec.phase),
  );
  return Math.min(spec.max, Math.max(spec.min, v));
}

/** One interface row (IF-MIB ifTable + ifXTable). */
export interface SimInterface {
  index: number;
  descr: string;
  /** 1 up, 2 down. */
  operStatus: 1 | 2;
  inOctets: CounterSpec;
  outOctets: CounterSpec;
  inErrors: CounterSpec;
  outErrors: CounterSpec;
}

/** One hrStorageTable row. */
export interface SimStorage {
  index: number;
  descr: string;
  allocationUnits: number;
  size: number;
  used: GaugeSpec;
}

/** One dskTable row. */
export interface SimDisk {
  index: number;
  path: string;
  device: string;
  totalKb: number;
  availKb: GaugeSpec;
}

/** Everything one simulated device serves. */
export interface SimulatedDevice {
  id: string;
  index: number;
  sysDescr: string;
  sysContact: string;
  sysName: string;
  sysLocation: string;
  /** sysUpTime when the agent starts, centiseconds. */
  uptimeStartCs: number;
  /** Whether its counters start close to the wrap point. */
  nearWrap: boolean;
  cpu: { user: CounterSpec; nice: CounterSpec; system: CounterSpec; idle: CounterSpec; wait: CounterSpec };
  /** 1, 5, 15 minute load averages in hundredths. */
  load: [GaugeSpec, GaugeSpec, GaugeSpec];
  memory: {
    totalRealKb: number;
    availRealKb: GaugeSpec;
    bufferKb: GaugeSpec;
    cachedKb: GaugeSpec;
    totalSwapKb: number;
    availSwapKb: GaugeSpec;
  };
  disks: SimDisk[];
  storage: SimStorage[];
  interfaces: SimInterface[];
}

/** Options of {@link simulatedDevice}. */
export interface SimulatedDeviceOptions {
  /** Seed shared by a fleet; each device mixes in its index. @default 1 */
  seed?: number;
  /** Device id. @default `sim-<index, 4 digits>` */
  id?: string;
  /** Every n-th device (index % n === 0) starts near the wrap point; 0 for none. @default 3 */
  nearWrapEvery?: number;
  /** How long after start a near-wrap device's counters wrap, ms. @default 10 000 */
  wrapAfterMs?: number;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same fleet on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model of device `index` of a fleet. */
export function simulatedDevice(index: number, options: SimulatedDeviceOptions = {}): SimulatedDevice {
  const seed = options.seed ?? 1;
  const random = prng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));
  const between = (lo: number, hi: number) => lo + (hi - lo) * random();
  const int = (lo: number, hi: number) => Math.floor(between(lo, hi + 1));
  const id = options.id ?? `sim-${String(index).padStart(4, '0')}`;
  const every = options.nearWrapEvery ?? 3;
  const nearWrap = every > 0 && index % every === 0;
  const wrapAfterS = (options.wrapAfterMs ?? 10_000) / 1000;

  /** A counter at `rate`/s: near-wrap devices start `wrapAfterS` before the wrap point. */
  const counter = (bits: 32 | 64, rate: number, wraps = true): CounterSpec => {
    const modulus = 1n << BigInt(bits);
    const start =
      nearWrap && wraps && rate > 0
        ? modulus - BigInt(Math.max(1, Math.round(rate * wrapAfterS)))
        : BigInt(Math.floor(between(0, bits === 32 ? 2 ** 31 : 2 ** 40)));
    return { start, ratePerSecond: rate, bits };
  };
  const gauge = (base: number, amplitude: number, min: number, max: number): GaugeSpec => ({
    base,
    amplitude,
    periodMs: Math.round(between(30_000, 300_000)),
    phase: between(0, 2 * Math.PI),
    min,
    max,
  });

  const cores = int(1, 8);
  const hz = 100 * cores;
  const userShare = between(0.1, 0.4);
  const systemShare = between(0.03, 0.12);
  const niceShare = between(0, 0.02);
  const waitShare = between(0, 0.05);
  const idleShare = 1 - userShare - systemShare - niceShare - waitShare;

  const totalRealKb = int(2, 64) * 1024 * 1024;
  const totalSwapKb = random() < 0.5 ? 0 : int(1, 8) * 1024 * 1024;
  const site = ['fra1', 'ams2', 'lon3', 'nyc1', 'sfo2'][index % 5] ?? 'fra1';

  const ifCount = int(2, 4);
  const interfaces: SimInterface[] = [
    {
      index: 1,
      descr: 'lo',
      operStatus: 1,
      inOctets: counter(64, Math.round(between(1e3, 1e5))),
      outOctets: counter(64, 0),
      inErrors: counter(32, 0, false),
      outErrors: counter(32, 0, false),
    },
  ];
  for (let i = 0; i < ifCount; i++) {
    const up = i === 0 || random() < 0.7;
    const bps = up ? Math.round(between(1e5, 1.25e8)) : 0;
    interfaces.push({
      index: i + 2,
      descr: `eth${i}`,
      operStatus: up ? 1 : 2,
      inOctets: counter(64, bps),
      outOctets: counter(64, Math.round(bps * between(0.1, 0.9))),
      inErrors: counter(32, up ? between(0, 3) : 0),
      outErrors: counter(32, up ? between(0, 1) : 0),
    });
  }
  // Loopback: what goes out comes back in.
  const lo = interfaces[0];
  if (lo !== undefined) lo.outOctets = { ...lo.inOctets };

  const rootKb = int(20, 500) * 1024 * 1024;
  const varKb = int(10, 200) * 1024 * 1024;
  const disks: SimDisk[] = [
    {
      index: 1,
      path: '/',
      device: '/dev/sda1',
      totalKb: rootKb,
      availKb: gauge(rootKb * 0.5, rootKb * 0.05, 0, rootKb),
    },
    {
      index: 2,
      path: '/var',
      device: '/dev/sda2',
      totalKb: varKb,
      availKb: gauge(varKb * 0.6, varKb * 0.1, 0, varKb),
    },
  ];
  const physUsed = gauge(totalRealKb * 0.6, totalRealKb * 0.1, 0, totalRealKb);
  const storage: SimStorage[] = [
    { index: 1, descr: 'Physical memory', allocationUnits: 1024, size: totalRealKb, used: physUsed },
    {
      index: 3,
      descr: 'Virtual memory',
      allocationUnits: 1024,
      size: totalRealKb + totalSwapKb,
      used: { ...physUsed, max: totalRealKb + totalSwapKb },
    },
    {
      index: 31,
      descr: '/',
      allocationUnits: 4096,
      size: rootKb / 4,
      used: gauge(rootKb / 8, rootKb / 80, 0, rootKb / 4),
    },
    {
      index: 32,
      descr: '/var',
      allocationUnits: 4096,
      size: varKb / 4,
      used: gauge(varKb / 10, varKb / 40, 0, varKb / 4),
    },
  ];

  return {
    id,
    index,
    sysDescr: `Linux ${id} 6.1.0-${int(10, 30)}-amd64 #1 SMP x86_64 (AMOSKYS simulated device)`,
    sysContact: `noc+${id}@example.net`,
    sysName: id,
    sysLocation: `${site}, rack ${int(1, 40)}`,
    uptimeStartCs: int(0, 100 * 86_400 * 30),
    nearWrap,
    cpu: {
      user: counter(32, hz * userShare),
      nice: counter(32, hz * niceShare),
      system: counter(32, hz * systemShare),
      idle: counter(32, hz * idleShare),
      wait: counter(32, hz * waitShare),
    },
    load: [
      gauge(cores * 50, cores * 40, 0, cores * 400),
      gauge(cores * 45, cores * 25, 0, cores * 400),
      gauge(cores * 40, cores * 15, 0, cores * 400),
    ],
    memory: {
      totalRealKb,
      availRealKb: gauge(totalRealKb * 0.4, totalRealKb * 0.1, 0, totalRealKb),
      bufferKb: gauge(totalRealKb * 0.02, totalRealKb * 0.01, 0, totalRealKb),
      cachedKb: gauge(totalRealKb * 0.2, totalRealKb * 0.05, 0, totalRealKb),
      totalSwapKb,
      availSwapKb: gauge(totalSwapKb * 0.9, totalSwapKb * 0.05, 0, totalSwapKb),
    },
    disks,
    storage,
    interfaces,
  };
}

/** sysUpTime `elapsedMs` after start: TimeTicks, centiseconds, wrapping at 2^32. */
export function uptimeAt(device: SimulatedDevice, elapsedMs: number): number {
  return (device.uptimeStartCs + Math.floor(elapsedMs / 10)) % 2 ** 32;
}

/** A load average `elapsedMs` after start, as UCD-SNMP-MIB's laLoad string ("0.83"). */
export function loadAt(spec: GaugeSpec, elapsedMs: number): string {
  return (gaugeAt(spec, elapsedMs) / 100).toFixed(2);
}
