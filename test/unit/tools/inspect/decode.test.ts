/**
 * Decoding for `amoskys inspect`: golden envelopes and feature rows through the same path as a
 * record from Kafka, signature statuses against a trust snapshot, flags of wrappers and legacy
 * events, dead letters, and bytes that decode only in part.
 */
import { describe, expect, it } from 'vitest';
import { emptyTrustSnapshot } from '../../../../src/core/crypto/index.ts';
import {
  appendSignature,
  envelopeSchema,
  scanFields,
  toJsonValue,
} from '../../../../src/core/envelope/index.ts';
import { featuresSchema } from '../../../../src/core/features/index.ts';
import { frame } from '../../../../src/core/registry/index.ts';
import { dlqHeaders } from '../../../../src/processors/telemetry/validate.ts';
import {
  type DecodeContext,
  EnvelopeFlag,
  inspectMessage,
  inspectValue,
  type MessageOrigin,
  SignatureStatus,
  sniffKind,
} from '../../../../src/tools/inspect/index.ts';
import { envelopeFixture, envelopeTwin, featureFixture, fixtureTrust } from './helpers.ts';

const ctx = (overrides: Partial<DecodeContext> = {}): DecodeContext => ({
  trust: fixtureTrust(),
  nowMs: Date.UTC(2026, 10, 29, 12),
  ...overrides,
});
const framed = (bytes: Uint8Array, schemaId = 7) => frame(schemaId, envelopeSchema.messageIndexes, bytes);
const kafkaOrigin = (headers: Record<string, string> = {}): MessageOrigin => ({
  source: 'kafka',
  topic: 't',
  partition: 0,
  offset: '5',
  timestampMs: 0,
  key: 'router-1',
  headers,
});

describe('inspectValue', () => {
  it('decodes a framed envelope: wire format, header, verified signature, every metric', () => {
    const view = inspectValue(framed(envelopeFixture('snmp-ok')), 'auto', ctx());
    expect(view.kind).toBe('envelope');
    expect(view.wire).toEqual({
      ok: true,
      magic: 0,
      schemaId: 7,
      messageIndexes: [0],
      headerBytes: 6,
      payloadBytes: envelopeFixture('snmp-ok').length,
    });
    const e = view.envelope;
    expect(e?.signature).toMatchObject({
      status: SignatureStatus.Verified,
      keyId: 'fixture-key-1',
      warnings: [],
    });
    expect(e?.device?.id).toBe('router-1');
    expect(e?.events).toEqual({ metric: 8, status: 1, flow: 0, process: 0, unknown: 0 });
    expect(e?.flags).toEqual([]);
    expect(toJsonValue(e?.metrics)).toEqual(envelopeTwin('snmp-ok').envelope.telemetry.metrics);
    expect(e?.metrics.find((m) => m.name === 'if_hc_in_octets')?.value).toEqual({
      kind: 'counter',
      value: 18_446_744_073_709_551_615n,
      bits: 64,
    });
    expect(view.problems).toEqual([]);
  });

  it('says unknown_key without the key, bad_signature for changed bytes, unsigned without field 15', () => {
    const bytes = envelopeFixture('snmp-ok');
    expect(
      inspectValue(framed(bytes), 'envelope', ctx({ trust: emptyTrustSnapshot() })).envelope?.signature
        .status,
    ).toBe(SignatureStatus.UnknownKey);

    // Flip one byte of the device id ("router-1" -> "router-2"): still decodes, no longer verifies.
    // DeviceTelemetry.device_id is field 1: tag 0x0a, length 8.
    const tampered = Uint8Array.from(bytes);
    const at = Buffer.from(tampered).indexOf(Buffer.from([0x0a, 0x08, ...Buffer.from('router-1')])) + 9;
    tampered[at] = '2'.charCodeAt(0);
    const view = inspectValue(framed(tampered), 'envelope', ctx());
    expect(view.envelope?.device?.id).toBe('router-2');
    expect(view.envelope?.signature.status).toBe(SignatureStatus.BadSignature);

    const scan = scanFields(bytes);
    if (!scan.ok) throw new Error('fixture does not scan');
    const signature = scan.fields.find((f) => f.fieldNumber === 15);
    const unsigned = bytes.subarray(0, signature?.start);
    expect(inspectValue(framed(unsigned), 'envelope', ctx()).envelope?.signature.status).toBe(
      SignatureStatus.Unsigned,
    );
    // Re-signing with garbage of the right length keeps the shape and fails the check.
    const forged = appendSignature(unsigned, new Uint8Array(64).fill(7));
    expect(inspectValue(framed(forged), 'envelope', ctx()).envelope?.signature.status).toBe(
      SignatureStatus.BadSignature,
    );
  });

  it('warns when a verified key is revoked, retired or not bound to the device', () => {
    const view = inspectValue(
      framed(envelopeFixture('snmp-ok')),
      'envelope',
      ctx({ trust: fixtureTrust(['router-9'], { revokedAt: '2026-01-01T00:00:00.000Z' }) }),
    );
    expect(view.envelope?.signature.status).toBe(SignatureStatus.Verified);
    expect(view.envelope?.signature.warnings).toEqual([
      expect.stringContaining('was revoked at 2026-01-01T00:00:00.000Z'),
      expect.stringContaining('may not sign for device router-1'),
    ]);
    const retired = inspectValue(
      framed(envelopeFixture('snmp-ok')),
      'envelope',
      ctx({ trust: fixtureTrust(['router-1'], { notAfter: '2026-06-01T00:00:00.000Z' }) }),
    );
    expect(retired.envelope?.signature.warnings).toEqual([expect.stringContaining('was retired at')]);
  });

  it('decodes legacy FlowEvent and ProcessEvent exactly and flags the wrapper that carries no metrics', () => {
    const e = inspectValue(framed(envelopeFixture('legacy-flow-process')), 'envelope', ctx()).envelope;
    expect(e?.events).toEqual({ metric: 0, status: 0, flow: 1, process: 1, unknown: 0 });
    expect(e?.flags).toEqual([EnvelopeFlag.NoMetrics, EnvelopeFlag.LegacyEvents]);
    expect(e?.flows[0]?.bytes).toBe(9_007_199_254_740_993n);
    expect(e?.processes[0]).toMatchObject({ pid: 4242, name: 'snmpd', memoryBytes: 12_582_912n });
    expect(e?.signature.status).toBe(SignatureStatus.Verified);
  });

  it('does not flag a failed poll for having no metrics: its status explains it', () => {
    const e = inspectValue(framed(envelopeFixture('snmp-unreachable')), 'envelope', ctx()).envelope;
    expect(e?.statuses.map((s) => s.state)).toEqual(['unreachable']);
    expect(e?.flags).toEqual([]);
  });

  it('flags fields of a newer producer and still verifies the bytes as received', () => {
    const e = inspectValue(framed(envelopeFixture('snmp-v2-unknown-fields')), 'envelope', ctx()).envelope;
    expect(e?.flags).toContain(EnvelopeFlag.UnknownFields);
    expect(e?.signature.status).toBe(SignatureStatus.Verified);
  });

  it('decodes an unframed envelope as a bare protobuf and says so', () => {
    const view = inspectValue(envelopeFixture('snmp-ok'), 'envelope', ctx());
    expect(view.bare).toBe(true);
    expect(view.wire).toMatchObject({ ok: false, reason: 'wrong_magic' });
    expect(view.envelope?.device?.id).toBe('router-1');
    expect(view.problems).toEqual([
      expect.stringContaining('not in the Confluent wire format'),
      'decoded as a bare protobuf (no frame)',
    ]);
  });

  it('shows a preview of bytes that decode as nothing, and a tombstone as no value', () => {
    const junk = new TextEncoder().encode('{"hello":"json"}');
    const view = inspectValue(junk, 'auto', ctx());
    expect(view.envelope).toBeUndefined();
    expect(view.preview).toContain('|{"hello":"json"}|');
    const tombstone = inspectValue(null, 'envelope', ctx());
    expect(tombstone).toMatchObject({ valueBytes: null, problems: ['no value (a tombstone)'] });
  });

  it('recognises and decodes a feature row, keeping absent columns absent', () => {
    const bytes = frame(46, featuresSchema.messageIndexes, featureFixture('snmpd-rates'));
    const view = inspectValue(bytes, 'auto', ctx());
    expect(view.kind).toBe('feature_row');
    expect(view.featureRow?.header).toMatchObject({
      device_id: 'router-1',
      idempotency_key: 'router-1/60/29932441',
    });
    expect(view.featureRow?.values).toHaveLength(38);
    expect(view.featureRow?.extra.length).toBe(52);
    const unreachable = inspectValue(frame(46, [0], featureFixture('unreachable')), 'feature_row', ctx());
    expect(unreachable.featureRow?.values).toEqual([]);
    expect(unreachable.featureRow?.header.poll_state).toBe('unreachable');
  });

  it('adds the protobuf text format with --full', () => {
    const view = inspectValue(framed(envelopeFixture('snmp-ok')), 'envelope', ctx({ full: true }));
    expect(view.text).toContain('metric_name: "if_hc_in_octets"');
  });
});

describe('sniffKind', () => {
  it('tells envelopes from feature rows by the wire type of their first header field', () => {
    expect(sniffKind(envelopeFixture('snmp-ok'))).toBe('envelope');
    expect(sniffKind(featureFixture('unreachable'))).toBe('feature_row');
    expect(sniffKind(Uint8Array.of(0xff))).toBe('unknown');
  });
});

describe('inspectMessage', () => {
  it('shows a dead letter’s reason and source, then decodes the rejected bytes', () => {
    const value = framed(envelopeFixture('snmp-ok'));
    const headers = dlqHeaders(
      { reason: 'stale', detail: 'built long ago' },
      { topic: 'amoskys.telemetry.raw.v1', partition: 2, offset: '41', key: 'router-1' },
      Date.UTC(2026, 10, 29, 11),
    );
    const message = inspectMessage(kafkaOrigin(headers), value, 'auto', ctx({ valueHex: true }));
    expect(message.kind).toBe('dead_letter');
    expect(message.deadLetter).toEqual({
      reason: 'stale',
      message: 'built long ago',
      sourceTopic: 'amoskys.telemetry.raw.v1',
      sourcePartition: 2,
      sourceOffset: '41',
      sourceKey: 'router-1',
      rejectedAtMs: Date.UTC(2026, 10, 29, 11),
    });
    expect(message.original?.envelope?.signature.status).toBe('verified');
    expect(message.valueHex).toBe(Buffer.from(value).toString('hex'));
  });

  it('says when a message read as a dead letter has no reason header', () => {
    const message = inspectMessage(kafkaOrigin(), framed(envelopeFixture('snmp-ok')), 'dead_letter', ctx());
    expect(message.problems).toEqual([expect.stringContaining('no amoskys.reason header')]);
    expect(message.original?.envelope?.device?.id).toBe('router-1');
  });
});
