import { describe, expect, it } from 'vitest';
import { createNobleVerifier, generateSigningKey, signerFor } from '../../../../src/core/crypto/index.ts';
import {
  buildSignedEnvelope,
  EnvelopeFailure,
  encodeUnsignedEnvelope,
  signEnvelopeBytes,
  verifyEnvelopeBytes,
} from '../../../../src/core/envelope/index.ts';
import type { DevicePoll } from '../../../../src/core/telemetry/index.ts';
import { message, stringField, varintField } from '../../../helpers/protobuf.ts';

const key = generateSigningKey({
  keyId: 'edge-1',
  devices: ['router-1'],
  secretKey: new Uint8Array(32).fill(9),
});
const other = generateSigningKey({
  keyId: 'edge-2',
  devices: ['router-1'],
  secretKey: new Uint8Array(32).fill(8),
});
const trusted = new Map([
  [key.keyId, key.publicKey],
  [other.keyId, other.publicKey],
]);
const lookup = (id: string) => trusted.get(id);

const poll: DevicePoll = {
  deviceId: 'router-1',
  protocol: 'snmp',
  intervalS: 60,
  slot: 29_932_440n,
  slotStartNs: 29_932_440n * 60_000_000_000n,
  observedAtNs: 29_932_440n * 60_000_000_000n + 5n,
  metrics: [
    {
      name: 'sys_name',
      value: { kind: 'string', value: 'r1' },
      unit: '',
      oid: '1.3.6.1.2.1.1.5.0',
      labels: [],
    },
  ],
  status: {
    state: 'ok',
    reason: '',
    durationMs: 3,
    varbindsRequested: 1,
    varbindsReceived: 1,
    bytesCollected: 60,
  },
};
const signed = buildSignedEnvelope(poll, signerFor(key), 1n);
const signatureStart = signed.length - 66;

describe('verifyEnvelopeBytes', () => {
  it('accepts the bytes as signed', () => {
    expect(verifyEnvelopeBytes(signed, lookup)).toMatchObject({ ok: true, signingKeyId: 'edge-1' });
  });

  it('rejects any single flipped bit in the signed bytes or in the signature', () => {
    // Bits whose flip still leaves a well-formed message are bad signatures; the others fail
    // earlier with a wire-format reason. Either way: never ok.
    for (let i = 0; i < signed.length; i++) {
      const tampered = Uint8Array.from(signed);
      tampered[i] = (tampered[i] as number) ^ 0x01;
      const result = verifyEnvelopeBytes(tampered, lookup);
      expect(result.ok, `byte ${i}`).toBe(false);
      if (i >= signatureStart + 2) expect(result).toMatchObject({ reason: EnvelopeFailure.BadSignature });
    }
  });

  it('rejects a signature by another trusted key (the key id names the key that must have signed)', () => {
    const forged = signEnvelopeBytes(encodeUnsignedEnvelope(poll, 'edge-1', 1n), signerFor(other));
    expect(verifyEnvelopeBytes(forged, lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.BadSignature,
      signingKeyId: 'edge-1',
    });
  });

  it('rejects unknown keys and missing key ids', () => {
    const unknown = buildSignedEnvelope(poll, { keyId: 'edge-9', sign: signerFor(key).sign }, 1n);
    expect(verifyEnvelopeBytes(unknown, lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.UnknownKey,
    });
    const noKeyId = signEnvelopeBytes(message(varintField(1, 1)), signerFor(key));
    expect(verifyEnvelopeBytes(noKeyId, lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.KeyIdMissing,
    });
  });

  it('passes wire-format reasons through, without throwing', () => {
    expect(verifyEnvelopeBytes(signed.subarray(0, signed.length - 1), lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.Truncated,
    });
    expect(verifyEnvelopeBytes(signed.subarray(0, signatureStart), lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.SignatureMissing,
    });
    expect(verifyEnvelopeBytes(new Uint8Array(), lookup)).toMatchObject({ ok: false });
    expect(verifyEnvelopeBytes(Uint8Array.of(0xff, 0xff, 0xff), lookup)).toMatchObject({ ok: false });
  });

  it('verifies over the bytes received: a field the signer added is covered, not dropped', () => {
    // A producer with a newer schema appends field 6 before signing.
    const unsigned = message(encodeUnsignedEnvelope(poll, 'edge-1', 1n), stringField(6, 'ams-3'));
    const bytes = signEnvelopeBytes(unsigned, signerFor(key));
    expect(verifyEnvelopeBytes(bytes, lookup)).toMatchObject({ ok: true });
    // Removing the unknown field (what a decode + re-encode would do) breaks the signature.
    const stripped = message(encodeUnsignedEnvelope(poll, 'edge-1', 1n), bytes.subarray(bytes.length - 66));
    expect(verifyEnvelopeBytes(stripped, lookup)).toMatchObject({
      ok: false,
      reason: EnvelopeFailure.BadSignature,
    });
  });

  it('accepts the signature field anywhere at the top level (it is not part of the signed bytes)', () => {
    const moved = message(signed.subarray(signatureStart), signed.subarray(0, signatureStart));
    expect(verifyEnvelopeBytes(moved, lookup)).toMatchObject({ ok: true });
  });

  it('takes another verifier when asked (benchmarks, comparisons)', () => {
    expect(verifyEnvelopeBytes(signed, lookup, { verifier: createNobleVerifier() })).toMatchObject({
      ok: true,
    });
  });
});
