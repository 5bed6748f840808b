import { describe, expect, it } from 'vitest';
import {
  createNobleSigner,
  createNodeSigner,
  generateSigningKey,
  signerFor,
} from '../../../../src/core/crypto/index.ts';
import {
  buildSignedEnvelope,
  decodeEnvelope,
  EnvelopeFailure,
  encodeUnsignedEnvelope,
  scanFields,
  signEnvelopeBytes,
  splitSignature,
  toDevicePoll,
  verifyEnvelopeBytes,
} from '../../../../src/core/envelope/index.ts';
import type { DevicePoll, Metric } from '../../../../src/core/telemetry/index.ts';
import { bytesField, message, stringField, varintField } from '../../../helpers/protobuf.ts';

const key = generateSigningKey({
  keyId: 'edge-1',
  devices: ['router-1'],
  secretKey: new Uint8Array(32).fill(3),
});
const signer = signerFor(key);
const lookup = (id: string) => (id === key.keyId ? key.publicKey : undefined);
const u64max = 2n ** 64n - 1n;

function poll(overrides: Partial<DevicePoll> = {}): DevicePoll {
  const slotStartNs = 1_795_946_400_000_000_000n;
  return {
    deviceId: 'router-1',
    protocol: 'snmp',
    intervalS: 60,
    slot: slotStartNs / 60_000_000_000n,
    slotStartNs,
    observedAtNs: slotStartNs + 1_234_567_890n,
    metrics: [
      {
        name: 'sys_name',
        value: { kind: 'string', value: 'router-1' },
        unit: '',
        oid: '1.3.6.1.2.1.1.5.0',
        labels: [],
      },
      {
        name: 'temp',
        value: { kind: 'numeric', value: -12.5 },
        unit: 'celsius',
        oid: '1.3.6.1.4.1.9.1',
        labels: [],
      },
      {
        name: 'if_in_octets',
        value: { kind: 'counter', value: 123_456n, bits: 32 },
        unit: 'bytes',
        oid: '1.3.6.1.2.1.2.2.1.10.2',
        labels: [
          { key: 'ifIndex', value: '2' },
          { key: 'ifDescr', value: 'eth0' },
        ],
      },
    ],
    status: {
      state: 'partial',
      reason: '1 of 4 varbinds missing',
      durationMs: 21,
      varbindsRequested: 4,
      varbindsReceived: 3,
      bytesCollected: 912,
    },
    ...overrides,
  };
}

const metric = (value: Metric['value']): Metric => ({ name: 'm', value, unit: '', oid: '1.3', labels: [] });

describe('buildSignedEnvelope → decodeEnvelope', () => {
  it('round-trips a poll exactly (toDevicePoll is the inverse)', () => {
    const input = poll();
    const bytes = buildSignedEnvelope(input, signer, 42n);
    const decoded = decodeEnvelope(bytes);
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.envelope.header).toMatchObject({
      envelopeVersion: 1,
      tsNs: 42n,
      idempotencyKey: `router-1/60/${input.slot}`,
      signingKeyId: 'edge-1',
    });
    expect(decoded.envelope.header.signature).toHaveLength(64);
    expect(toDevicePoll(decoded.envelope)).toEqual({ ok: true, poll: input });
  });

  it('writes one event per metric plus one status event, all stamped with observedAtNs', () => {
    const input = poll();
    const decoded = decodeEnvelope(buildSignedEnvelope(input, signer, 1n));
    if (!decoded.ok) throw new Error(decoded.detail);
    const t = decoded.envelope.telemetry;
    expect(t?.timestampNs).toBe(input.slotStartNs);
    expect(t?.metrics.map((m) => m.name)).toEqual(['sys_name', 'temp', 'if_in_octets']);
    expect(t?.metrics.every((m) => m.observedAtNs === input.observedAtNs)).toBe(true);
    expect(t?.statuses).toEqual([
      { ...input.status, state: 'partial', stateNumber: 2, observedAtNs: input.observedAtNs },
    ]);
    expect(t?.unknownEvents).toBe(0);
  });

  it('keeps uint64 values exact at the edges, and zero and empty values as set values', () => {
    const input = poll({
      slotStartNs: u64max - 1n,
      observedAtNs: u64max,
      slot: u64max,
      metrics: [
        metric({ kind: 'counter', value: u64max, bits: 64 }),
        metric({ kind: 'counter', value: 2n ** 53n + 1n, bits: 64 }),
        metric({ kind: 'counter', value: 0n, bits: 32 }),
        metric({ kind: 'counter', value: 2n ** 32n - 1n, bits: 32 }),
        metric({ kind: 'numeric', value: 0 }),
        metric({ kind: 'string', value: '' }),
      ],
      status: { ...poll().status, bytesCollected: Number.MAX_SAFE_INTEGER },
    });
    const decoded = decodeEnvelope(buildSignedEnvelope(input, signer, u64max));
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.envelope.header.tsNs).toBe(u64max);
    expect(decoded.envelope.telemetry?.metrics.map((m) => m.value)).toEqual(
      input.metrics.map((m) => m.value),
    );
    expect(toDevicePoll(decoded.envelope)).toEqual({ ok: true, poll: input });
  });

  it('is deterministic, and node:crypto and noble signers give identical bytes', () => {
    const a = buildSignedEnvelope(poll(), createNodeSigner('edge-1', key.secretKey), 7n);
    const b = buildSignedEnvelope(poll(), createNobleSigner('edge-1', key.secretKey), 7n);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(buildSignedEnvelope(poll(), signer, 7n)).equals(Buffer.from(a))).toBe(true);
  });

  it('signs exactly the unsigned encoding and appends field 15 last', () => {
    const unsigned = encodeUnsignedEnvelope(poll(), 'edge-1', 7n);
    const signed = buildSignedEnvelope(poll(), signer, 7n);
    expect(Buffer.from(signed.subarray(0, unsigned.length)).equals(Buffer.from(unsigned))).toBe(true);
    expect([signed[unsigned.length], signed[unsigned.length + 1]]).toEqual([0x7a, 0x40]);
    expect(signed.length).toBe(unsigned.length + 66);
    expect(splitSignature(signed)).toMatchObject({ ok: true, signingInput: Uint8Array.from(unsigned) });
    expect(verifyEnvelopeBytes(signed, lookup)).toMatchObject({ ok: true });
  });

  it('rounds a fractional duration to the millisecond the contract carries', () => {
    const input = poll({ status: { ...poll().status, durationMs: 12.6 } });
    const decoded = decodeEnvelope(buildSignedEnvelope(input, signer, 1n));
    expect(decoded.ok && decoded.envelope.telemetry?.statuses[0]?.durationMs).toBe(13);
  });

  it.each([
    ['a 32-bit counter above 2^32-1', { metrics: [metric({ kind: 'counter', value: 2n ** 32n, bits: 32 })] }],
    ['a counter above 2^64-1', { metrics: [metric({ kind: 'counter', value: 2n ** 64n, bits: 64 })] }],
    ['a negative counter', { metrics: [metric({ kind: 'counter', value: -1n, bits: 64 })] }],
    ['counter bits 16', { metrics: [metric({ kind: 'counter', value: 1n, bits: 16 as 32 })] }],
    ['a negative slot start', { slotStartNs: -1n }],
    ['a number where a bigint belongs', { observedAtNs: 5 as unknown as bigint }],
    ['fractional bytesCollected', { status: { ...poll().status, bytesCollected: 1.5 } }],
    ['an unknown poll state', { status: { ...poll().status, state: 'sleeping' as 'ok' } }],
  ] as [string, Partial<DevicePoll>][])('refuses %s (a bug in the caller, thrown)', (_, overrides) => {
    expect(() => buildSignedEnvelope(poll(overrides), signer, 1n)).toThrow(RangeError);
  });

  it('refuses an empty key id', () => {
    expect(() => buildSignedEnvelope(poll(), createNodeSigner('', key.secretKey), 1n)).toThrow(RangeError);
  });
});

describe('decodeEnvelope on bytes no producer of ours writes', () => {
  // Hand-written: UniversalEnvelope { device_telemetry (5) { device_id (1), events (4) ... } }
  const envelope = (...events: number[][]) =>
    message(
      varintField(1, 1),
      stringField(3, 'd/60/1'),
      stringField(4, 'edge-1'),
      bytesField(
        5,
        message(stringField(1, 'd'), stringField(2, 'snmp'), ...events.map((e) => bytesField(4, e))),
      ),
    );
  const metricEvent = (...fields: number[][]) => [...varintField(1, 5), ...bytesField(2, message(...fields))];

  it('reports malformed protobuf as data', () => {
    for (const bytes of [Uint8Array.of(0x0a, 0x05), Uint8Array.of(0x2a, 0x03, 0x22, 0x05, 0x00)]) {
      expect(decodeEnvelope(bytes)).toMatchObject({ ok: false, reason: EnvelopeFailure.MalformedProtobuf });
    }
  });

  it('refuses a counter whose counter_bits is not 32 or 64', () => {
    const bytes = envelope(metricEvent(stringField(1, 'c'), varintField(4, 10)));
    expect(decodeEnvelope(bytes)).toMatchObject({ ok: false, reason: EnvelopeFailure.InvalidValue });
  });

  it('keeps metrics whose value kind it does not know, and counts unknown events', () => {
    const bytes = envelope(
      metricEvent(stringField(1, 'new_kind'), bytesField(9, [1, 2]), stringField(6, '1.3.6')),
      [...varintField(1, 6), ...bytesField(6, [0x08, 0x01])], // an event type from the future (field 6)
    );
    const decoded = decodeEnvelope(bytes);
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.envelope.telemetry?.metrics).toEqual([
      { name: 'new_kind', value: { kind: 'unknown' }, unit: '', oid: '1.3.6', labels: [], observedAtNs: 5n },
    ]);
    expect(decoded.envelope.telemetry?.unknownEvents).toBe(1);
    expect(toDevicePoll(decoded.envelope)).toMatchObject({ ok: false });
  });

  it('maps status states it does not know to unspecified/unknown, keeping the number', () => {
    const status = (state: number) => [...varintField(1, 5), ...bytesField(3, varintField(1, state))];
    const decoded = decodeEnvelope(envelope(status(0), status(9)));
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.envelope.telemetry?.statuses.map((s) => [s.state, s.stateNumber])).toEqual([
      ['unspecified', 0],
      ['unknown', 9],
    ]);
  });

  it('decodes an envelope without payload, and toDevicePoll says why it is not a poll', () => {
    const decoded = decodeEnvelope(message(varintField(1, 1), stringField(3, 'x')));
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.envelope.telemetry).toBeUndefined();
    expect(decoded.envelope.header.signature).toEqual(new Uint8Array());
    expect(toDevicePoll(decoded.envelope)).toEqual({ ok: false, detail: 'no device_telemetry payload' });
  });

  it('toDevicePoll refuses an idempotency key that does not belong to the device', () => {
    const unsigned = encodeUnsignedEnvelope(poll(), 'edge-1', 1n);
    const decoded = decodeEnvelope(signEnvelopeBytes(unsigned, signer));
    if (!decoded.ok) throw new Error(decoded.detail);
    decoded.envelope.header.idempotencyKey = 'router-2/60/1';
    expect(toDevicePoll(decoded.envelope)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/router-2/),
    });
  });
});

describe('the unsigned encoding', () => {
  it('has no field 15 and only the fields of the contract', () => {
    const scan = scanFields(encodeUnsignedEnvelope(poll(), 'edge-1', 1n));
    if (!scan.ok) throw new Error(scan.detail);
    expect(scan.fields.map((f) => f.fieldNumber)).toEqual([1, 2, 3, 4, 5]);
  });
});
