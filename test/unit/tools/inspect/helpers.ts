/** Golden envelopes and a trust snapshot of the fixture key, for the inspect unit tests. */
import { readFileSync } from 'node:fs';
import { repoRoot } from '../../../../src/core/config/index.ts';
import {
  TRUST_STORE_FORMAT,
  type TrustSnapshot,
  toTrustSnapshot,
} from '../../../../src/core/crypto/index.ts';
import { fixtureKeyId, fixturePublicKey } from '../../../fixtures/envelopes/cases.ts';

/** Bytes of a golden envelope (`test/fixtures/envelopes/<name>.bin`): protobuf, not framed. */
export function envelopeFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${repoRoot}/test/fixtures/envelopes/${name}.bin`));
}

/** Bytes of a golden feature row (`test/fixtures/features/<name>.bin`). */
export function featureFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${repoRoot}/test/fixtures/features/${name}.bin`));
}

/** The JSON twin of a golden envelope. */
export function envelopeTwin(name: string): { envelope: { telemetry: { metrics: unknown[] } } } {
  return JSON.parse(readFileSync(`${repoRoot}/test/fixtures/envelopes/${name}.json`, 'utf8'));
}

/** A trust store holding the fixture key for the given devices. */
export function fixtureTrust(
  devices: string[] = ['router-1', 'router-2', 'legacy-host-3'],
  extra: { revokedAt?: string; notAfter?: string; notBefore?: string } = {},
): TrustSnapshot {
  return toTrustSnapshot({
    format: TRUST_STORE_FORMAT,
    keys: [
      {
        keyId: fixtureKeyId,
        publicKey: Buffer.from(fixturePublicKey).toString('base64'),
        devices,
        notBefore: extra.notBefore ?? '2020-01-01T00:00:00.000Z',
        ...(extra.notAfter === undefined ? {} : { notAfter: extra.notAfter }),
        ...(extra.revokedAt === undefined ? {} : { revokedAt: extra.revokedAt }),
      },
    ],
  });
}
