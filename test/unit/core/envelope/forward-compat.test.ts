/**
 * Forward compatibility: an envelope written and signed with a newer schema (v2 adds
 * `UniversalEnvelope.site = 6` and `DeviceTelemetry.firmware = 5`) verifies and decodes with the v1
 * code. The registry side of the same change is test/integration/registry/schemas-apply.test.ts.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import { generateSigningKey, signerFor } from '../../../../src/core/crypto/index.ts';
import {
  decodeEnvelope,
  EnvelopeFailure,
  envelopeSchema,
  scanFields,
  signEnvelopeBytes,
  splitSignature,
  verifyEnvelopeBytes,
} from '../../../../src/core/envelope/index.ts';

const v1Source = envelopeSchema.source;
const v2Source = readFileSync(`${repoRoot}/test/fixtures/schemas/telemetry-v2.proto`, 'utf8');
const breakingSource = readFileSync(`${repoRoot}/test/fixtures/schemas/telemetry-breaking.proto`, 'utf8');

function envelopeType(source: string): protobuf.Type {
  const root = protobuf.parse(source).root;
  root.resolveAll();
  return root.lookupType('amoskys.telemetry.v1.UniversalEnvelope');
}

const withoutComments = (source: string) =>
  source
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');

describe('the v2 and breaking test schemas', () => {
  it('v2 is exactly v1 plus `string site = 6` and `string firmware = 5`', () => {
    const expected = withoutComments(v1Source)
      .replace('  bytes signature = 15;\n}', '  bytes signature = 15;\n  string site = 6;\n}')
      .replace(
        '  repeated TelemetryEvent events = 4;\n}',
        '  repeated TelemetryEvent events = 4;\n  string firmware = 5;\n}',
      );
    expect(withoutComments(v2Source)).toBe(expected);
  });

  it('the breaking schema is exactly v1 with ts_ns retyped to string', () => {
    expect(withoutComments(breakingSource)).toBe(
      withoutComments(v1Source).replace('uint64 ts_ns = 2;', 'string ts_ns = 2;'),
    );
  });
});

describe('an envelope written with v2, read with v1', () => {
  const key = generateSigningKey({
    keyId: 'edge-v2',
    devices: ['router-9'],
    secretKey: new Uint8Array(32).fill(5),
  });
  const lookup = (id: string) => (id === key.keyId ? key.publicKey : undefined);
  const v2 = envelopeType(v2Source);
  const v1 = envelopeType(v1Source);
  const slotStartNs = { low: 0x5a8a_c000, high: 0x18ec_8e4a, unsigned: true }; // some uint64
  const unsigned = v2
    .encode({
      envelopeVersion: 1,
      tsNs: slotStartNs,
      idempotencyKey: 'router-9/60/7',
      signingKeyId: key.keyId,
      site: 'ams-3',
      deviceTelemetry: {
        deviceId: 'router-9',
        protocol: 'snmp',
        timestampNs: slotStartNs,
        firmware: 'RouterOS 7.16.2',
        events: [
          {
            timestampNs: slotStartNs,
            metric: { metricName: 'sys_name', stringValue: 'r9', oid: '1.3.6.1.2.1.1.5.0' },
          },
          { timestampNs: slotStartNs, status: { state: 1, varbindsRequested: 1, varbindsReceived: 1 } },
        ],
      },
    })
    .finish();
  const bytes = signEnvelopeBytes(unsigned, signerFor(key));

  it('the signature verifies with the v1 verifier', () => {
    expect(verifyEnvelopeBytes(bytes, lookup)).toMatchObject({ ok: true, signingKeyId: 'edge-v2' });
  });

  it('v1 decodes every field it knows', () => {
    const decoded = decodeEnvelope(bytes);
    if (!decoded.ok) throw new Error(decoded.detail);
    const { header, telemetry } = decoded.envelope;
    expect(header.idempotencyKey).toBe('router-9/60/7');
    expect(header.tsNs).toBe((0x18ec_8e4an << 32n) | 0x5a8a_c000n);
    expect(telemetry?.deviceId).toBe('router-9');
    expect(telemetry?.metrics.map((m) => [m.name, m.value])).toEqual([
      ['sys_name', { kind: 'string', value: 'r9' }],
    ]);
    expect(telemetry?.statuses.map((s) => s.state)).toEqual(['ok']);
  });

  it('the new fields are in the signed bytes, so dropping them (a v1 re-encode) breaks the signature', () => {
    const split = splitSignature(bytes);
    if (!split.ok) throw new Error(split.detail);
    const scan = scanFields(split.signingInput);
    expect(scan.ok && scan.fields.map((f) => f.fieldNumber)).toContain(6);

    // What a verifier that re-encoded would check: v1 decode → v1 encode loses site and firmware.
    const reencoded = v1.encode(v1.decode(bytes)).finish();
    expect(reencoded.length).toBeLessThan(bytes.length);
    expect(verifyEnvelopeBytes(reencoded, lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.BadSignature,
    });
  });
});
