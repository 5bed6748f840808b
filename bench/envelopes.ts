/**
 * The signed envelopes the processor, sink and pipeline benchmarks feed their stages: real SNMP
 * polls (the default profile's metrics from the recorded walk of Debian snmpd 5.9.3), signed with
 * one fresh key that a trust store made here trusts for every bench device. Built once per run and
 * framed per private raw topic, because two private pipelines may carry different schema ids.
 */
import { randomBytes } from 'node:crypto';
import {
  generateSigningKey,
  signerFor,
  TRUST_STORE_FORMAT,
  type TrustStoreDocument,
} from '../src/core/crypto/index.ts';
import { buildSignedEnvelope, envelopeSchema } from '../src/core/envelope/index.ts';
import { frame } from '../src/core/registry/index.ts';
import type { Metric } from '../src/core/telemetry/index.ts';
import {
  advance,
  baseSlotStartNs,
  pollOf,
  recordedMetrics,
} from '../test/unit/processors/telemetry/polls.ts';

/** Options of {@link signedEnvelopes}. */
export interface SignedEnvelopeOptions {
  count: number;
  /** Devices the envelopes are spread over, round robin (keys spread over the partitions). @default 50 */
  devices?: number;
  /**
   * Every value the recorded walk holds (71, ~7.8 KB framed) instead of the first row of each of
   * the 29 metric definitions (~2.7 KB framed). @default false
   */
  allRows?: boolean;
}

/** Envelopes ready to frame and produce, and the trust store that accepts them. */
export interface SignedEnvelopes {
  /** Signed envelope bytes (unframed), keyed by device id, in production order. */
  envelopes: { key: string; envelope: Uint8Array }[];
  /** Trusts the signing key for every device, from a day ago. */
  trustStore: TrustStoreDocument;
  deviceIds: string[];
  metricsPerEnvelope: number;
}

/**
 * Builds and signs `count` envelopes of 60 s polls: device after device within a slot, slot after
 * slot, the last slot just before now (inside the processor's freshness window, which counts from signing).
 * Counters grow at 1,000/s and sysUpTime with the slots, so every sample after a device's first
 * gives rates, as a real fleet's does.
 */
export async function signedEnvelopes(options: SignedEnvelopeOptions): Promise<SignedEnvelopes> {
  const deviceCount = options.devices ?? 50;
  /** pollOf()'s interval: its base slot is a boundary of it. */
  const intervalS = 60;
  const deviceIds = Array.from(
    { length: deviceCount },
    (_, i) => `bench-router-${String(i).padStart(3, '0')}`,
  );
  const key = generateSigningKey({ keyId: `bench-${randomBytes(4).toString('hex')}`, devices: deviceIds });
  const trustStore: TrustStoreDocument = {
    format: TRUST_STORE_FORMAT,
    keys: [
      {
        keyId: key.keyId,
        publicKey: Buffer.from(key.publicKey).toString('base64'),
        devices: deviceIds,
        notBefore: new Date(Date.now() - 86_400_000).toISOString(),
      },
    ],
  };
  const signer = signerFor(key);
  const names = new Set<string>();
  const baseMetrics: Metric[] = (await recordedMetrics()).filter(
    (m) => options.allRows === true || (!names.has(m.name) && names.add(m.name)),
  );
  const slots = Math.ceil(options.count / deviceCount);
  // pollOf() counts slots from its base slot; the last slot here is the one before now's.
  const intervalNs = BigInt(intervalS) * 1_000_000_000n;
  const nowSlot = (BigInt(Date.now()) * 1_000_000n) / intervalNs;
  const firstSlotIndex = Number(nowSlot - baseSlotStartNs / intervalNs) - slots;
  const envelopes: SignedEnvelopes['envelopes'] = [];
  let slotMetrics: { slot: number; metrics: Metric[] } | undefined;
  for (let i = 0; i < options.count; i++) {
    const s = Math.floor(i / deviceCount);
    const deviceId = deviceIds[i % deviceCount] as string;
    if (slotMetrics?.slot !== s) {
      slotMetrics = { slot: s, metrics: advance(baseMetrics, s * intervalS, () => 1_000) };
    }
    const poll = pollOf(slotMetrics.metrics, { slotIndex: firstSlotIndex + s, deviceId });
    envelopes.push({
      key: deviceId,
      envelope: buildSignedEnvelope(poll, signer, BigInt(Date.now()) * 1_000_000n),
    });
  }
  return { envelopes, trustStore, deviceIds, metricsPerEnvelope: baseMetrics.length };
}

/** Frames every envelope (Confluent wire format) for the raw topic registered as `schemaId`. */
export function framed(
  envelopes: SignedEnvelopes['envelopes'],
  schemaId: number,
): { key: string; value: Buffer }[] {
  return envelopes.map(({ key, envelope }) => {
    const bytes = frame(schemaId, envelopeSchema.messageIndexes, envelope);
    return { key, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) };
  });
}
