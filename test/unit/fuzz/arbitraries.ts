/**
 * Shared pieces of the fuzz tests (test/unit/fuzz, docs/testing.md "Fuzzing"): run settings from
 * the environment, the keys, trust store and validation context the envelopes are checked
 * against, generators of polls (realistic and hostile), of signed and framed envelopes, of
 * out-of-contract envelopes that are still validly signed, and of mutations that damage bytes the
 * way bytes get damaged (bit flips, cuts, garbage, broken tags and lengths, moved and repeated
 * fields, a changed frame header).
 *
 * Generators start from what the producer writes and change it, rather than from random bytes:
 * random bytes stop at the first check (wrong magic byte), a mutated real envelope reaches the
 * signature check, the decoder and the value checks.
 */
import fc from 'fast-check';
import {
  generateSigningKey,
  type Signer,
  type SigningKey,
  signerFor,
  TRUST_STORE_FORMAT,
  type TrustSnapshot,
  type TrustStoreDocument,
  toTrustSnapshot,
} from '../../../src/core/crypto/index.ts';
import { buildSignedEnvelope, signEnvelopeBytes } from '../../../src/core/envelope/index.ts';
import { types } from '../../../src/core/envelope/schema.ts';
import { scanFields, type WireField } from '../../../src/core/envelope/wire.ts';
import { featureColumns } from '../../../src/core/features/index.ts';
import { frame, unframe } from '../../../src/core/registry/index.ts';
import {
  type DevicePoll,
  idempotencyKey,
  type Label,
  type Metric,
  type MetricValue,
  PollState,
} from '../../../src/core/telemetry/index.ts';
import { RejectReason } from '../../../src/processors/telemetry/types.ts';
import type { ValidateContext, ValidateResult } from '../../../src/processors/telemetry/validate.ts';
import {
  envelopeCases,
  fixtureKeyId,
  fixturePublicKey,
  fixtureSigner,
} from '../../fixtures/envelopes/cases.ts';
import { bytesField, tag, varint } from '../../helpers/protobuf.ts';

// ---------------------------------------------------------------------------------------------
// Run settings

function envInteger(name: string, check: (n: number) => boolean, what: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || !check(value)) {
    throw new RangeError(`${name} must be ${what}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** `AMOSKYS_FUZZ_RUNS`: runs of every property, instead of each property's default. */
const runsOverride = envInteger('AMOSKYS_FUZZ_RUNS', (n) => n > 0, 'a positive integer');
/** `AMOSKYS_FUZZ_SEED` (+ `AMOSKYS_FUZZ_PATH`): replay a failure fast-check reported. */
const seed = envInteger('AMOSKYS_FUZZ_SEED', () => true, 'an integer (the seed fast-check printed)');
const replayPath = process.env.AMOSKYS_FUZZ_PATH || undefined;

/**
 * fast-check parameters of one property: `numRuns` unless `AMOSKYS_FUZZ_RUNS` overrides it, and
 * the seed and path of a reported failure when `AMOSKYS_FUZZ_SEED` / `AMOSKYS_FUZZ_PATH` are set.
 * Seeds are random otherwise; fast-check prints the seed and path of any failure.
 */
export function fuzzParams<T>(numRuns: number): fc.Parameters<T> {
  const params: fc.Parameters<T> = { numRuns: runsOverride ?? numRuns };
  if (seed !== undefined) params.seed = seed;
  if (replayPath !== undefined) {
    params.path = replayPath;
    params.endOnFailure = true;
  }
  return params;
}

/** Vitest timeout of a property, ms: generous by default, none when the run count is overridden. */
export const fuzzTimeoutMs = runsOverride === undefined ? 60_000 : 0;

// ---------------------------------------------------------------------------------------------
// Keys, trust store, validation context

/** The raw topic's schema id in these tests; every other id is unknown. */
export const schemaId = 7;
/** Processing time: 5 s into the slot of the golden fixtures (built 2.4 s into it), so they are fresh. */
export const nowNs = BigInt(Date.UTC(2026, 10, 29, 10, 0, 5)) * 1_000_000n;
const msIso = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
const hourNs = 3_600_000_000_000n;
const dayNs = 24n * hourNs;

/** Devices the fuzz keys may sign for (one with "/" and non-ASCII characters). */
export const fuzzDevices = ['fuzz-router-1', 'fuzz-router-2', 'fuzz/ü/𝔘-3'] as const;
/** Devices of the golden envelope fixtures. */
export const fixtureDevices = ['router-1', 'switch-7/unit-2', 'legacy-host-3'] as const;

const key = (keyId: string, fill: number): SigningKey =>
  generateSigningKey({ keyId, devices: [...fuzzDevices], secretKey: new Uint8Array(32).fill(fill) });

/**
 * Signing keys. `main` and `sibling` are both trusted for the fuzz devices and their ids differ in
 * one bit ('1' = 0x31, '3' = 0x33), so a bit flip can turn one trusted key id into the other.
 */
export const keys = {
  main: key('fuzz-key-1', 71),
  sibling: key('fuzz-key-3', 73),
  untrusted: key('fuzz-key-untrusted', 75),
  revoked: key('fuzz-key-revoked', 77),
} as const;

export const signers = {
  main: signerFor(keys.main),
  sibling: signerFor(keys.sibling),
  untrusted: signerFor(keys.untrusted),
  revoked: signerFor(keys.revoked),
  fixture: fixtureSigner,
} as const satisfies Record<string, Signer>;

const entry = (k: SigningKey, extra: Record<string, string> = {}) => ({
  keyId: k.keyId,
  publicKey: Buffer.from(k.publicKey).toString('base64'),
  devices: [...k.devices],
  notBefore: msIso(nowNs - 30n * dayNs),
  ...extra,
});

/** The trust-store document every fuzz test validates against. */
export const trustStore: TrustStoreDocument = {
  format: TRUST_STORE_FORMAT,
  keys: [
    entry(keys.main),
    entry(keys.sibling),
    entry(keys.revoked, { revokedAt: msIso(nowNs - hourNs), revocationReason: 'fuzz: compromised' }),
    {
      keyId: fixtureKeyId,
      publicKey: Buffer.from(fixturePublicKey).toString('base64'),
      devices: [...fixtureDevices],
      notBefore: msIso(nowNs - 30n * dayNs),
    },
  ],
};
export const trust: TrustSnapshot = toTrustSnapshot(trustStore, 'fuzz');

/** Public keys by key id, for verifyEnvelopeBytes. */
export const lookupPublicKey = (keyId: string): Uint8Array | undefined =>
  Object.hasOwn(trust.keys, keyId) ? trust.keys[keyId]?.publicKey : undefined;

export const freshnessWindowMs = 3_600_000;
export const maxFutureSkewMs = 60_000;

/** The context of validateMessage in these tests. */
export const context = (overrides: Partial<ValidateContext> = {}): ValidateContext => ({
  trust,
  nowNs,
  freshnessWindowMs,
  maxFutureSkewMs,
  maxMessageBytes: 1_048_576,
  isKnownSchemaId: (id) => id === schemaId,
  ...overrides,
});

/** Every reject reason (the closed list of types.ts). */
export const rejectReasons: readonly string[] = Object.values(RejectReason);

/** `ok`, or the reject reason. */
export const verdictOf = (result: ValidateResult): string => (result.ok ? 'ok' : result.reason);

/** Frames an envelope as the producer does: magic byte, schema id, message indexes [0]. */
export const framed = (payload: Uint8Array, id = schemaId): Uint8Array => frame(id, [0], payload);

// ---------------------------------------------------------------------------------------------
// Strings and numbers at the edges

/**
 * Any Unicode scalar value (no lone surrogates). Built by hand: fast-check's `unit: 'binary'`
 * builds a table of all 1.1 million code points at first use, a second of CPU per test file.
 */
const codePoint: fc.Arbitrary<string> = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0x10_ffff }),
  )
  .map((c) => String.fromCodePoint(c));

/** Strings a hostile or broken producer might send: empty, huge, control characters, any Unicode. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: codePoint, maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '\u0000',
      'é',
      '𝔘nicode',
      '\uFEFF',
      '\u202Eevil',
      'x'.repeat(4096),
      '__proto__',
      'constructor',
      '../../etc/passwd',
      '"quoted"\n',
    ),
  },
);

/**
 * Now and then a string that is not well-formed UTF-16 (a lone surrogate). protobufjs writes one
 * as bytes that are not UTF-8 and its reader refuses them, so such an envelope is undecodable:
 * kept rare, or most polls would stop at the decoder.
 */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 19, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom('\uD800', 'a\uDFFFb') },
);

/** Doubles, weighted towards NaN, infinities, -0 and the extremes. */
export const edgeDouble: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 53,
    1e308,
  ),
);

export const uint32Max = 0xffff_ffff;
export const uint64Max = (1n << 64n) - 1n;

/** uint32 values, weighted towards the edges. */
export const edgeUint32: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: uint32Max }),
  fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, uint32Max),
);

/** uint64 values, weighted towards the edges. */
export const edgeUint64: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: uint64Max }),
  fc.constantFrom(0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, uint64Max),
);

const counter32: fc.Arbitrary<MetricValue> = fc
  .oneof(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.constantFrom(0n, 2n ** 31n, 2n ** 32n - 1n))
  .map((value) => ({ kind: 'counter', value, bits: 32 }));
const counter64: fc.Arbitrary<MetricValue> = edgeUint64.map((value) => ({
  kind: 'counter',
  value,
  bits: 64,
}));

/** Any metric value the envelope builder accepts (numeric values may be NaN or infinite). */
export const anyMetricValue: fc.Arbitrary<MetricValue> = fc.oneof(
  edgeDouble.map((value): MetricValue => ({ kind: 'numeric', value })),
  hostileString.map((value): MetricValue => ({ kind: 'string', value })),
  counter32,
  counter64,
);

// ---------------------------------------------------------------------------------------------
// Polls

interface Source {
  name: string;
  kind: 'numeric' | 'string' | 'counter';
  unit: string;
  bits?: 32 | 64;
  table?: string;
}

/** The source metrics of the named feature columns (the default profile), each once. */
const sources: Source[] = [
  ...new Map(
    featureColumns.map((c) => {
      const source: Source = { name: c.source, kind: c.sourceKind, unit: c.sourceUnit };
      if ('sourceBits' in c) source.bits = c.sourceBits;
      if ('table' in c) source.table = c.table;
      return [c.source, source] as const;
    }),
  ).values(),
];

const indexLabel = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0', '31', '031', '4294967295', '1e3', '', ' 32', '99999999999999999999'),
  },
);
const tableLabels: Record<string, fc.Arbitrary<Label[]>> = {
  interfaces: fc.tuple(indexLabel, hostileString).map(([i, d]) => [
    { key: 'ifIndex', value: i },
    { key: 'ifDescr', value: d },
  ]),
  storage: fc.tuple(indexLabel, hostileString).map(([i, d]) => [
    { key: 'hrStorageIndex', value: i },
    { key: 'hrStorageDescr', value: d },
  ]),
  disks: fc.tuple(indexLabel, hostileString).map(([i, d]) => [
    { key: 'dskIndex', value: i },
    { key: 'dskPath', value: d },
  ]),
};
const anyLabels: fc.Arbitrary<Label[]> = fc.array(fc.record({ key: hostileString, value: hostileString }), {
  maxLength: 3,
});
const oid = fc.oneof(
  fc.array(fc.nat(70_000), { minLength: 1, maxLength: 12 }).map((parts) => parts.join('.')),
  hostileString,
);

function valueArbOf(source: Source): fc.Arbitrary<MetricValue> {
  switch (source.kind) {
    case 'numeric':
      return edgeDouble.map((value) => ({ kind: 'numeric', value }));
    case 'string':
      return hostileString.map((value) => ({ kind: 'string', value }));
    case 'counter':
      return source.bits === 64 ? counter64 : source.bits === 32 ? counter32 : fc.oneof(counter32, counter64);
  }
}

/**
 * A metric of the default profile (right name, unit, kind and labels, so it lands in a named
 * column), with values at the edges; now and then with another unit, value kind or labels.
 */
export const profileMetric: fc.Arbitrary<Metric> = fc.constantFrom(...sources).chain((source) =>
  fc.record({
    name: fc.constant(source.name),
    value: fc.oneof({ weight: 9, arbitrary: valueArbOf(source) }, { weight: 1, arbitrary: anyMetricValue }),
    unit: fc.oneof(
      { weight: 9, arbitrary: fc.constant(source.unit) },
      { weight: 1, arbitrary: hostileString },
    ),
    oid,
    labels:
      source.table === undefined
        ? fc.oneof({ weight: 9, arbitrary: fc.constant<Label[]>([]) }, { weight: 1, arbitrary: anyLabels })
        : (tableLabels[source.table] ?? anyLabels),
  }),
);

/** Any metric: any name, unit, labels, value. */
export const freeMetric: fc.Arbitrary<Metric> = fc.record({
  name: anyString,
  value: anyMetricValue,
  unit: anyString,
  oid,
  labels: anyLabels,
});

export const anyMetric: fc.Arbitrary<Metric> = fc.oneof(
  { weight: 3, arbitrary: profileMetric },
  { weight: 1, arbitrary: freeMetric },
);

const intervalS = fc.oneof(
  { weight: 8, arbitrary: fc.constant(60) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(1, 10, 300, 86_400, uint32Max, 2 ** 32, 2 ** 33, Number.MAX_SAFE_INTEGER),
  },
);

/** Slot and slot start of a poll at `atNs` (0 when the slot start would not fit 64 bits). */
export function slotAt(atNs: bigint, interval: number): { slot: bigint; slotStartNs: bigint } {
  const slotNs = BigInt(interval) * 1_000_000_000n;
  const slot = atNs / slotNs;
  return slot * slotNs > uint64Max ? { slot: 0n, slotStartNs: 0n } : { slot, slotStartNs: slot * slotNs };
}

/** Poll status values the envelope builder accepts, at the edges. */
export const pollStatus = fc.record({
  state: fc.constantFrom(...Object.values(PollState)),
  reason: hostileString,
  durationMs: fc.oneof(
    fc.integer({ min: 0, max: 60_000 }),
    fc.double({ min: 0, max: uint32Max, noNaN: true }),
    fc.constantFrom(0, 0.5, uint32Max),
  ),
  varbindsRequested: edgeUint32,
  varbindsReceived: edgeUint32,
  bytesCollected: fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 32, Number.MAX_SAFE_INTEGER)),
});

/**
 * A poll the envelope builder accepts (so it can be signed), with values at the edges: device ids
 * the fuzz keys are bound to (now and then another one), intervals up to 2^53-1, numeric values
 * that may be NaN, counters up to 2^64-1, hostile strings.
 */
export const pollArb = (
  options: { devices?: readonly string[]; metrics?: fc.Arbitrary<Metric> } = {},
): fc.Arbitrary<DevicePoll> =>
  fc
    .record({
      deviceId: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...(options.devices ?? fuzzDevices)) },
        { weight: 1, arbitrary: anyString },
      ),
      intervalS,
      slotsBack: fc.bigInt({ min: 0n, max: 3n }),
      offsetFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      metrics: fc.array(options.metrics ?? anyMetric, { maxLength: 12 }),
      status: pollStatus,
    })
    .map(({ deviceId, intervalS, slotsBack, offsetFraction, metrics, status }) => {
      const intervalNs = BigInt(intervalS) * 1_000_000_000n;
      const at = nowNs > slotsBack * intervalNs ? nowNs - slotsBack * intervalNs : 0n;
      const { slot, slotStartNs } = slotAt(at, intervalS);
      const offsetNs = BigInt(Math.floor(offsetFraction * 1e9 * Math.min(intervalS, 3600)));
      return {
        deviceId,
        protocol: 'snmp',
        intervalS,
        slot,
        slotStartNs,
        observedAtNs: slotStartNs + offsetNs,
        metrics,
        status,
      } satisfies DevicePoll;
    });

/** `ts_ns` of an envelope: mostly fresh, now and then stale, in the future or at the extremes. */
export const envelopeTsNs: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 8, arbitrary: fc.bigInt({ min: nowNs - 3_500_000_000_000n, max: nowNs + 50_000_000_000n }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0n, uint64Max, nowNs - 3_600_000_000_001n, nowNs + 60_000_000_001n),
  },
);

/** A poll signed by a fuzz key and framed, as the producer writes it. */
export const signedPoll = (poll: DevicePoll, tsNs: bigint, signer: Signer = signers.main): Uint8Array =>
  framed(buildSignedEnvelope(poll, signer, tsNs));

// ---------------------------------------------------------------------------------------------
// Signed envelopes outside the contract

/** protobufjs' form of a uint64. */
const u64 = (value: bigint) => ({
  low: Number(value & 0xffff_ffffn) | 0,
  high: Number((value >> 32n) & 0xffff_ffffn) | 0,
  unsigned: true,
});

type RawObject = Record<string, unknown>;

/** The protobufjs object of a poll's envelope, as encodeUnsignedEnvelope builds it. */
function rawOf(poll: DevicePoll, keyId: string, tsNs: bigint): RawObject {
  const at = u64(poll.observedAtNs);
  const events: RawObject[] = poll.metrics.map((m) => {
    const metric: RawObject = {
      metricName: m.name,
      unit: m.unit,
      oid: m.oid,
      labels: m.labels.map((l) => ({ key: l.key, value: l.value })),
    };
    if (m.value.kind === 'numeric') metric.numericValue = m.value.value;
    else if (m.value.kind === 'string') metric.stringValue = m.value.value;
    else {
      metric.counterValue = u64(m.value.value);
      metric.counterBits = m.value.bits;
    }
    return { timestampNs: at, metric };
  });
  events.push({
    timestampNs: at,
    status: {
      state: 1,
      reason: poll.status.reason,
      durationMs: Math.round(poll.status.durationMs),
      varbindsRequested: poll.status.varbindsRequested,
      varbindsReceived: poll.status.varbindsReceived,
      bytesCollected: u64(BigInt(poll.status.bytesCollected)),
    },
  });
  return {
    envelopeVersion: 1,
    tsNs: u64(tsNs),
    idempotencyKey: idempotencyKey(poll),
    signingKeyId: keyId,
    deviceTelemetry: {
      deviceId: poll.deviceId,
      protocol: 'snmp',
      timestampNs: u64(poll.slotStartNs),
      events,
    },
  };
}

/** One change to an envelope that the builder would refuse or never make. Data, so that it prints. */
export type RawTweak =
  | { kind: 'counterBits'; index: number; bits: number }
  | { kind: 'counter32Overflow'; index: number; value: bigint }
  | { kind: 'numeric'; index: number; value: number }
  | { kind: 'noValue'; index: number }
  | { kind: 'metricTime'; index: number; value: bigint }
  | { kind: 'eventType'; index: number; type: 'flow' | 'process' | 'none' }
  | { kind: 'bytesCollected'; value: bigint }
  | { kind: 'state'; value: number }
  | { kind: 'extraStatus' }
  | { kind: 'dropStatus' }
  | { kind: 'idempotencyKey'; value: string }
  | { kind: 'slotStart'; value: bigint }
  | { kind: 'version'; value: number }
  | { kind: 'deviceId'; value: string }
  | { kind: 'protocol'; value: string }
  | { kind: 'noPayload' };

const bitsValues = fc.constantFrom(0, 1, 8, 16, 31, 33, 63, 65, 128, uint32Max);

/** Changes that make the envelope break the contract while its bytes stay well formed. */
export const rawTweak: fc.Arbitrary<RawTweak> = fc.oneof(
  fc.record({ kind: fc.constant('counterBits' as const), index: fc.nat(), bits: bitsValues }),
  fc.record({
    kind: fc.constant('counter32Overflow' as const),
    index: fc.nat(),
    value: fc.bigInt({ min: 2n ** 32n, max: uint64Max }),
  }),
  fc.record({ kind: fc.constant('numeric' as const), index: fc.nat(), value: edgeDouble }),
  fc.record({ kind: fc.constant('noValue' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('metricTime' as const), index: fc.nat(), value: edgeUint64 }),
  fc.record({
    kind: fc.constant('eventType' as const),
    index: fc.nat(),
    type: fc.constantFrom('flow' as const, 'process' as const, 'none' as const),
  }),
  fc.record({
    kind: fc.constant('bytesCollected' as const),
    value: fc.oneof(edgeUint64, fc.constantFrom(2n ** 53n, 2n ** 53n + 1n)),
  }),
  fc.record({
    kind: fc.constant('state' as const),
    value: fc.oneof(fc.integer({ min: 0, max: 8 }), edgeUint32),
  }),
  fc.record({ kind: fc.constant('extraStatus' as const) }),
  fc.record({ kind: fc.constant('dropStatus' as const) }),
  fc.record({
    kind: fc.constant('idempotencyKey' as const),
    value: fc.oneof(
      hostileString,
      fc
        .tuple(
          fc.constantFrom(...fuzzDevices),
          fc.constantFrom('0', '1', '60', '4294967295', '4294967296', '8589934592', '9007199254740993', '01'),
          fc.constantFrom('0', '1', '29932440', '99999999999999999999999'),
        )
        .map(([d, i, s]) => `${d}/${i}/${s}`),
    ),
  }),
  fc.record({ kind: fc.constant('slotStart' as const), value: edgeUint64 }),
  fc.record({ kind: fc.constant('version' as const), value: fc.oneof(fc.constantFrom(0, 2), edgeUint32) }),
  fc.record({ kind: fc.constant('deviceId' as const), value: anyString }),
  fc.record({ kind: fc.constant('protocol' as const), value: anyString }),
  fc.record({ kind: fc.constant('noPayload' as const) }),
);

function applyTweak(raw: RawObject, t: RawTweak): void {
  const telemetry = raw.deviceTelemetry as RawObject | undefined;
  const events = (telemetry?.events ?? []) as RawObject[];
  const metricEvents = events.filter((e) => e.metric !== undefined);
  const statusEvent = events.find((e) => e.status !== undefined);
  const metricAt = (index: number) =>
    metricEvents.length === 0 ? undefined : (metricEvents[index % metricEvents.length] as RawObject);
  const clearValue = (m: RawObject) => {
    delete m.numericValue;
    delete m.stringValue;
    delete m.counterValue;
    delete m.counterBits;
  };
  switch (t.kind) {
    case 'counterBits': {
      const m = metricAt(t.index)?.metric as RawObject | undefined;
      if (m === undefined) return;
      clearValue(m);
      m.counterValue = u64(7n);
      m.counterBits = t.bits;
      return;
    }
    case 'counter32Overflow': {
      const m = metricAt(t.index)?.metric as RawObject | undefined;
      if (m === undefined) return;
      clearValue(m);
      m.counterValue = u64(t.value);
      m.counterBits = 32;
      return;
    }
    case 'numeric': {
      const m = metricAt(t.index)?.metric as RawObject | undefined;
      if (m === undefined) return;
      clearValue(m);
      m.numericValue = t.value;
      return;
    }
    case 'noValue': {
      const m = metricAt(t.index)?.metric as RawObject | undefined;
      if (m !== undefined) clearValue(m);
      return;
    }
    case 'metricTime': {
      const e = metricAt(t.index);
      if (e !== undefined) e.timestampNs = u64(t.value);
      return;
    }
    case 'eventType': {
      const e = metricAt(t.index);
      if (e === undefined) return;
      delete e.metric;
      if (t.type === 'flow')
        e.flow = { srcIp: '10.0.0.1', dstIp: '', srcPort: 1, dstPort: 2, bytes: u64(uint64Max) };
      if (t.type === 'process') e.process = { pid: 1, name: '\uD800', cpuPercent: Number.NaN };
      return;
    }
    case 'bytesCollected':
      if (statusEvent !== undefined) (statusEvent.status as RawObject).bytesCollected = u64(t.value);
      return;
    case 'state':
      if (statusEvent !== undefined) (statusEvent.status as RawObject).state = t.value;
      return;
    case 'extraStatus':
      if (statusEvent !== undefined) events.push(structuredClone(statusEvent));
      return;
    case 'dropStatus':
      if (telemetry !== undefined) telemetry.events = events.filter((e) => e.status === undefined);
      return;
    case 'idempotencyKey':
      raw.idempotencyKey = t.value;
      return;
    case 'slotStart':
      if (telemetry !== undefined) telemetry.timestampNs = u64(t.value);
      return;
    case 'version':
      raw.envelopeVersion = t.value;
      return;
    case 'deviceId':
      if (telemetry !== undefined) telemetry.deviceId = t.value;
      return;
    case 'protocol':
      if (telemetry !== undefined) telemetry.protocol = t.value;
      return;
    case 'noPayload':
      delete raw.deviceTelemetry;
      return;
  }
}

/** A field no v1 writer makes: unknown numbers, known numbers with the wrong wire type, repeats. */
export const strayField: fc.Arbitrary<number[]> = fc.oneof(
  // Unknown field numbers, well formed: a newer producer's fields.
  fc
    .tuple(
      fc.oneof(fc.integer({ min: 16, max: 200 }), fc.constant(536_870_911)),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([field, bytes]) => bytesField(field, bytes)),
  fc
    .tuple(fc.integer({ min: 16, max: 200 }), fc.bigInt({ min: 0n, max: uint64Max }))
    .map(([field, v]) => [...tag(field, 0), ...varint(v)]),
  // Known field numbers (1-5 of UniversalEnvelope, 1-4 of DeviceTelemetry) with any wire type.
  fc
    .tuple(
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom(0, 1, 2, 5),
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
    )
    .map(([field, wireType, bytes]) => {
      switch (wireType) {
        case 0:
          return [...tag(field, 0), ...varint(Buffer.from(bytes).readBigUInt64LE())];
        case 1:
          return [...tag(field, 1), ...bytes];
        case 5:
          return [...tag(field, 5), ...bytes.subarray(0, 4)];
        default:
          return bytesField(field, bytes);
      }
    }),
);

/** A signed envelope outside the contract, before framing. */
export interface HostileEnvelope {
  poll: DevicePoll;
  tweaks: RawTweak[];
  /** Fields appended at the top level, and inside device_telemetry, before signing. */
  topLevel: number[][];
  inTelemetry: number[][];
  tsNs: bigint;
}

/** Signed (by the main fuzz key) envelopes that break the contract in one or more ways. */
export const hostileEnvelope: fc.Arbitrary<HostileEnvelope> = fc.record({
  poll: pollArb(),
  tweaks: fc.array(rawTweak, { maxLength: 3 }),
  topLevel: fc.array(strayField, { maxLength: 2 }),
  inTelemetry: fc.array(strayField, { maxLength: 2 }),
  tsNs: envelopeTsNs,
});

const deviceTelemetryType = types.UniversalEnvelope.root.lookupType('amoskys.telemetry.v1.DeviceTelemetry');

/** The signed, unframed bytes of a hostile envelope. */
export function encodeHostile(h: HostileEnvelope, signer: Signer = signers.main): Uint8Array {
  const raw = rawOf(h.poll, signer.keyId, h.tsNs);
  for (const t of h.tweaks) applyTweak(raw, t);
  const { deviceTelemetry, ...header } = raw;
  const parts: number[] = [...types.UniversalEnvelope.encode(header).finish()];
  for (const f of h.topLevel) parts.push(...f);
  if (deviceTelemetry !== undefined) {
    const inner = [...deviceTelemetryType.encode(deviceTelemetry as RawObject).finish()];
    for (const f of h.inTelemetry) inner.push(...f);
    parts.push(...bytesField(5, inner));
  }
  return signEnvelopeBytes(Uint8Array.from(parts), signer);
}

// ---------------------------------------------------------------------------------------------
// Mutations of bytes

/** Message-index arrays, well formed or not; `[0]`, `[2, 0]` and `[0x80, 0]` all mean [0]. */
const indexBytes: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>(
    [0],
    [2, 0],
    [0x80, 0],
    [0x80, 0x80, 0x80, 0x80, 0],
    [0x80, 0x80, 0x80, 0x80, 0x80, 0],
    [2, 2],
    [1],
    [4, 0, 0],
    [0xfe, 0xff, 0xff, 0xff, 0x0f],
    [2, 0xfe, 0xff, 0xff, 0xff, 0x0f],
    [0xff, 0xff, 0xff, 0xff, 0x1f],
    [0x7f],
    [],
  ),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }),
);

/** Varints no valid field has: 11 bytes, a 10th byte over bit 63, ending too soon. */
const brokenVarint: fc.Arbitrary<number[]> = fc.constantFrom(
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
  [0x80],
);

/** Lengths far beyond the bytes there are. */
const hugeLength: fc.Arbitrary<number[]> = fc
  .constantFrom(2n ** 31n, 2n ** 32n, 2n ** 53n, uint64Max, 1000n, 65n)
  .map((n) => varint(n));

/**
 * One change to a framed envelope. Positions and field indexes are taken modulo what there is
 * when the mutation is applied. `field` mutations address top-level fields of the payload; when
 * the payload no longer scans, they fall back to a bit flip.
 */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: number[] }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'tag'; field: number; tag: number[] }
  | { kind: 'length'; field: number; length: number[] }
  | { kind: 'padTag'; field: number; padding: number }
  | { kind: 'duplicate'; field: number; to: number }
  | { kind: 'move'; field: number; to: number }
  | { kind: 'drop'; field: number }
  | { kind: 'inField'; field: number; at: number; bit: number }
  | { kind: 'magic'; byte: number }
  | { kind: 'schemaId'; id: number }
  | { kind: 'indexes'; bytes: number[] };

const garbage = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
  strayField,
  brokenVarint,
);

/** Mutations of a framed envelope: byte-level damage, field-level damage, frame-header damage. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: garbage }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: garbage }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('tag' as const),
    field: fc.nat(),
    tag: fc.oneof(
      // Wire types 3, 4 (groups), 6, 7 (undefined); field 0; field 2^29; the signature's tag.
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 7 })).map(([f, w]) => tag(f, w)),
      fc.constantFrom(tag(0, 2), varint(2n ** 29n * 8n + 2n), tag(15, 2), tag(15, 0), varint(2n ** 35n)),
      brokenVarint,
    ),
  }),
  fc.record({
    kind: fc.constant('length' as const),
    field: fc.nat(),
    length: fc.oneof(hugeLength, brokenVarint),
  }),
  fc.record({
    kind: fc.constant('padTag' as const),
    field: fc.nat(),
    padding: fc.integer({ min: 1, max: 9 }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), field: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('move' as const), field: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.nat() }),
  fc.record({
    kind: fc.constant('inField' as const),
    field: fc.nat(),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('magic' as const), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('schemaId' as const),
    id: fc.oneof(fc.constantFrom(0, 8, 2 ** 31, uint32Max), fc.nat()),
  }),
  fc.record({ kind: fc.constant('indexes' as const), bytes: indexBytes }),
);

/** A framed value as its parts: 5 header bytes, the message-index bytes, the payload. */
interface Parts {
  head: number[];
  indexes: number[];
  payload: number[];
}

function flipIn(bytes: number[], at: number, bit: number): void {
  if (bytes.length === 0) return;
  const i = at % bytes.length;
  bytes[i] = (bytes[i] as number) ^ (1 << bit);
}

function fieldsOf(payload: number[]): WireField[] | undefined {
  const scan = scanFields(Uint8Array.from(payload));
  return scan.ok && scan.fields.length > 0 ? scan.fields : undefined;
}

/** Applies one field-level mutation to a payload; false when the payload does not scan. */
function mutateField(payload: number[], m: Mutation & { field: number }): number[] | undefined {
  const fields = fieldsOf(payload);
  if (fields === undefined) return undefined;
  const f = fields[m.field % fields.length] as WireField;
  const tagEnd = (() => {
    let i = f.start;
    while (i < f.end && ((payload[i] as number) & 0x80) !== 0) i++;
    return i + 1;
  })();
  const before = payload.slice(0, f.start);
  const tagBytes = payload.slice(f.start, tagEnd);
  const rest = payload.slice(tagEnd, f.end);
  const after = payload.slice(f.end);
  const whole = payload.slice(f.start, f.end);
  const boundaries = [0, ...fields.map((x) => x.end)];
  switch (m.kind) {
    case 'tag':
      return [...before, ...m.tag, ...rest, ...after];
    case 'length':
      // Only length-delimited fields have a length; others get a wrong tag instead.
      if (f.wireType !== 2) return [...before, ...m.length, ...rest, ...after];
      return [...before, ...tagBytes, ...m.length, ...payload.slice(f.valueStart, f.end), ...after];
    case 'padTag': {
      // The same tag value as a longer (non-minimal) varint: valid protobuf, different bytes.
      const padding = Math.min(m.padding, 10 - tagBytes.length);
      if (padding < 1) return payload;
      const padded = [...tagBytes.map((b) => b | 0x80), ...Array<number>(padding - 1).fill(0x80), 0x00];
      return [...before, ...padded, ...rest, ...after];
    }
    case 'duplicate': {
      const to = boundaries[m.to % boundaries.length] as number;
      return [...payload.slice(0, to), ...whole, ...payload.slice(to)];
    }
    case 'move': {
      const without = [...before, ...after];
      const kept = fields.filter((x) => x !== f);
      const targets = [0];
      let offset = 0;
      for (const x of kept) {
        offset += x.end - x.start;
        targets.push(offset);
      }
      const to = targets[m.to % targets.length] as number;
      return [...without.slice(0, to), ...whole, ...without.slice(to)];
    }
    case 'drop':
      return [...before, ...after];
    case 'inField': {
      const value = payload.slice(f.valueStart, f.end);
      flipIn(value, m.at, m.bit);
      return [...payload.slice(0, f.valueStart), ...value, ...after];
    }
    default:
      return undefined;
  }
}

/**
 * Applies mutations to a framed envelope, in order: field-level ones to the payload, header ones
 * to the frame header, byte-level ones to the whole value as it is at that point.
 */
export function mutate(value: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  // The producer's frames have the one-byte index array [0]: 5 + 1 header bytes.
  let parts: Parts | undefined = {
    head: [...value.subarray(0, 5)],
    indexes: [...value.subarray(5, 6)],
    payload: [...value.subarray(6)],
  };
  let bytes: number[] = [];
  const whole = (): number[] =>
    parts === undefined ? bytes : [...parts.head, ...parts.indexes, ...parts.payload];
  for (const m of mutations) {
    switch (m.kind) {
      case 'magic':
      case 'schemaId':
      case 'indexes':
      case 'tag':
      case 'length':
      case 'padTag':
      case 'duplicate':
      case 'move':
      case 'drop':
      case 'inField': {
        if (parts === undefined) {
          // The frame was already cut or shifted: a header or field change is a bit flip now.
          flipIn(bytes, 'field' in m ? m.field : 0, 0);
          break;
        }
        if (m.kind === 'magic') parts.head[0] = m.byte;
        else if (m.kind === 'schemaId') {
          const id = Buffer.alloc(4);
          id.writeUInt32BE(m.id);
          parts.head.splice(1, 4, ...id);
        } else if (m.kind === 'indexes') parts.indexes = m.bytes;
        else {
          const changed = mutateField(parts.payload, m);
          if (changed === undefined) flipIn(parts.payload, m.field, 0);
          else parts.payload = changed;
        }
        break;
      }
      default: {
        bytes = whole();
        parts = undefined;
        if (m.kind === 'flip') flipIn(bytes, m.at, m.bit);
        else if (m.kind === 'set') {
          if (bytes.length > 0) bytes[m.at % bytes.length] = m.byte;
        } else if (m.kind === 'truncate') bytes = bytes.slice(0, m.at % (bytes.length + 1));
        else if (m.kind === 'append') bytes = [...bytes, ...m.bytes];
        else if (m.kind === 'insert') {
          const at = m.at % (bytes.length + 1);
          bytes = [...bytes.slice(0, at), ...m.bytes, ...bytes.slice(at)];
        } else if (m.kind === 'delete') {
          const at = m.at % (bytes.length + 1);
          bytes = [...bytes.slice(0, at), ...bytes.slice(at + m.length)];
        }
      }
    }
  }
  return Uint8Array.from(whole());
}

/**
 * Applies mutations to unframed protobuf bytes (framing them for the frame-level mutations) and
 * returns the payload again when the frame survived, else the mutated bytes as they are.
 */
export function mutatePayload(payload: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  const value = mutate(framed(payload), mutations);
  const result = unframe(value);
  return result.ok ? result.payload : value;
}

// ---------------------------------------------------------------------------------------------
// Valid envelopes to start from

/** A valid framed envelope and what it was built from. */
export interface Base {
  name: string;
  /** Framed, as on the raw topic. */
  value: Uint8Array;
  /** The signed bytes: the payload without the 66-byte signature field. */
  signingInput: Uint8Array;
  /** The signature field as written: 0x7a 0x40 + 64 bytes. */
  signatureField: Uint8Array;
  /** What validation must answer for the unchanged value. */
  verdict: string;
}

function base(name: string, payload: Uint8Array, verdict: string): Base {
  // Every producer here appends the signature field last.
  return {
    name,
    value: framed(payload),
    signingInput: payload.subarray(0, payload.length - 66),
    signatureField: payload.subarray(payload.length - 66),
    verdict,
  };
}

const basePoll = (deviceId: string, metrics: Metric[]): DevicePoll => {
  const { slot, slotStartNs } = slotAt(nowNs, 60);
  return {
    deviceId,
    protocol: 'snmp',
    intervalS: 60,
    slot,
    slotStartNs,
    observedAtNs: slotStartNs + 1_500_000_000n,
    metrics,
    status: {
      state: 'ok',
      reason: '',
      durationMs: 12,
      varbindsRequested: 5,
      varbindsReceived: 5,
      bytesCollected: 640,
    },
  };
};

/**
 * Valid envelopes to mutate: the golden fixtures (the legacy one is undecodable as a poll, the
 * others are accepted) and polls of the fuzz key with a metric of every kind.
 */
export const bases: readonly Base[] = [
  ...envelopeCases.map((c) =>
    base(c.name, c.build(), c.name === 'legacy-flow-process' ? 'invalid_values' : 'ok'),
  ),
  base(
    'fuzz-ok',
    buildSignedEnvelope(
      basePoll(fuzzDevices[0], [
        {
          name: 'sys_uptime',
          value: { kind: 'numeric', value: 8_640_123 },
          unit: 'centiseconds',
          oid: '1.3.6.1.2.1.1.3.0',
          labels: [],
        },
        {
          name: 'sys_descr',
          value: { kind: 'string', value: 'Linux fuzz 6.1' },
          unit: '',
          oid: '1.3.6.1.2.1.1.1.0',
          labels: [],
        },
        {
          name: 'cpu_raw_user',
          value: { kind: 'counter', value: 4_294_967_295n, bits: 32 },
          unit: 'ticks',
          oid: '1.3.6.1.4.1.2021.11.50.0',
          labels: [],
        },
        {
          name: 'if_hc_in_octets',
          value: { kind: 'counter', value: uint64Max, bits: 64 },
          unit: 'bytes',
          oid: '1.3.6.1.2.1.31.1.1.1.6.2',
          labels: [
            { key: 'ifIndex', value: '2' },
            { key: 'ifDescr', value: 'eth0' },
          ],
        },
      ]),
      signers.main,
      nowNs - 1_000_000_000n,
    ),
    'ok',
  ),
  base('fuzz-unicode-device', buildSignedEnvelope(basePoll(fuzzDevices[2], []), signers.main, nowNs), 'ok'),
];

export const baseArb: fc.Arbitrary<Base> = fc.constantFrom(...bases);
