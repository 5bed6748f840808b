/**
 * Interop of our Confluent framing (src/core/registry/wire-format.ts) with
 * @kafkajs/confluent-schema-registry 4.1.0 against the real registry. The library is a client other
 * teams may use, so our frames must decode through it; where it departs from the specification
 * (its protobuf message-index handling), these tests pin the departure so a library upgrade that
 * changes it is noticed. Findings are written up in docs/envelope.md, "Interop".
 */
import { describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../../src/core/envelope/index.ts';
import {
  applySubject,
  createRegistry,
  frame,
  UnframeFailure,
  unframe,
} from '../../../src/core/registry/index.ts';
import { envelopeCases } from '../../fixtures/envelopes/cases.ts';
import { testConfig } from '../../helpers/config.ts';
import { message, stringField, varintField } from '../../helpers/protobuf.ts';
import { randomSubject } from '../../helpers/registry.ts';

const config = testConfig();
const registry = createRegistry(config);

async function registerEnvelopeSchema(subject: string): Promise<number> {
  const outcome = await applySubject(config, {
    subject,
    compatibility: 'BACKWARD_TRANSITIVE',
    schema: envelopeSchema.source,
  });
  if (outcome.status !== 'registered' && outcome.status !== 'unchanged')
    throw new Error(JSON.stringify(outcome));
  return outcome.id;
}

const signedEnvelope = (
  envelopeCases.find((c) => c.name === 'snmp-ok') ?? envelopeCases[0]
)?.build() as Uint8Array;

interface LibEnvelope {
  envelopeVersion: number;
  idempotencyKey: string;
  signingKeyId: string;
  signature: Uint8Array;
  deviceTelemetry: { deviceId: string; events: unknown[] };
}

describe('@kafkajs/confluent-schema-registry interop', () => {
  it('decodes our framed, signed envelope (message index [0]) against the real registry', async (ctx) => {
    const id = await registerEnvelopeSchema(randomSubject(ctx, config, 'interop'));
    const framed = frame(id, envelopeSchema.messageIndexes, signedEnvelope);
    expect(framed.subarray(0, 6)).toEqual(
      Uint8Array.of(0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff, 0),
    );
    const decoded = (await registry.decode(Buffer.from(framed))) as unknown as LibEnvelope;
    expect(decoded.envelopeVersion).toBe(1);
    expect(decoded.idempotencyKey).toMatch(/^router-1\/60\/\d+$/);
    expect(decoded.signingKeyId).toBe('fixture-key-1');
    expect(decoded.deviceTelemetry.deviceId).toBe('router-1');
    expect(decoded.deviceTelemetry.events).toHaveLength(9);
    expect(Buffer.from(decoded.signature).equals(Buffer.from(signedEnvelope.subarray(-64)))).toBe(true);
  });

  it('KNOWN BUG: its encode writes no message-index array, so its frames do not unframe per the spec', async (ctx) => {
    const id = await registerEnvelopeSchema(randomSubject(ctx, config, 'interop'));
    const payload = { envelopeVersion: 1, idempotencyKey: 'router-1/60/1', signingKeyId: 'k' };
    const encoded = new Uint8Array(await registry.encode(id, payload));
    const protobufBytes = message(varintField(1, 1), stringField(3, 'router-1/60/1'), stringField(4, 'k'));
    // Magic byte and id are right; the payload follows the id directly (the spec puts 0 there).
    expect(encoded.subarray(0, 5)).toEqual(
      Uint8Array.of(0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff),
    );
    expect(encoded.subarray(5)).toEqual(protobufBytes);
    // A spec reader takes the payload's first byte (0x08, field 1) as the index count 4, then
    // 0x01 as index -1: refused, not misread.
    expect(unframe(encoded)).toMatchObject({ ok: false, reason: UnframeFailure.BadIndexArray });
    // The spec-conformant frame of the same payload, for comparison, unframes to it.
    const conformant = unframe(frame(id, [0], protobufBytes));
    expect(conformant.ok && Buffer.from(conformant.payload).equals(Buffer.from(protobufBytes))).toBe(true);
  });

  it('KNOWN BUG: its decode ignores the message-index array (always the first message)', async (ctx) => {
    const id = await registerEnvelopeSchema(randomSubject(ctx, config, 'interop'));
    // [1] is DeviceTelemetry, the second message of the file.
    const deviceTelemetry = message(stringField(1, 'router-1'), stringField(2, 'snmp'));
    await expect(registry.decode(Buffer.from(frame(id, [1], deviceTelemetry)))).rejects.toThrow();
  });

  it('KNOWN BUG: its decode fails on an empty payload (every field default), a valid message', async (ctx) => {
    const id = await registerEnvelopeSchema(randomSubject(ctx, config, 'interop'));
    const empty = frame(id, [0], new Uint8Array());
    expect(unframe(empty)).toMatchObject({ ok: true, payload: new Uint8Array() });
    await expect(registry.decode(Buffer.from(empty))).rejects.toThrow();
  });
});
