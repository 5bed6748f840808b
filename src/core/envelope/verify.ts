import { createNodeVerifier, type Verifier } from '../crypto/index.ts';
import { EnvelopeFailure, type EnvelopeFailureResult } from './types.ts';
import { splitSignature } from './wire.ts';

/** Finds the public key (32 bytes) of a signing key id; undefined when the key is not trusted. */
export type PublicKeyLookup = (signingKeyId: string) => Uint8Array | undefined;

/** Options of {@link verifyEnvelopeBytes}. */
export interface VerifyOptions {
  /** @default the node:crypto verifier (docs/security.md) */
  verifier?: Verifier;
}

/** Result of {@link verifyEnvelopeBytes}. */
export type VerifyResult =
  | { ok: true; signingKeyId: string; signature: Uint8Array }
  | (EnvelopeFailureResult & { signingKeyId?: string });

const defaultVerifier = createNodeVerifier();

/**
 * Checks the Ed25519 signature of envelope bytes exactly as received (the protobuf payload after
 * the Confluent framing): cuts out the single top-level field 15 and verifies the remaining bytes,
 * unchanged, under the public key of `signing_key_id`. Fields this reader does not know are part
 * of the signed bytes like any other. Never throws for bad input: the result says why.
 *
 * Only the signature is checked here; whether the key may sign for the device, and whether the
 * envelope is fresh, are the trust store's and the processor's questions.
 */
export function verifyEnvelopeBytes(
  bytes: Uint8Array,
  lookupPublicKey: PublicKeyLookup,
  options: VerifyOptions = {},
): VerifyResult {
  const split = splitSignature(bytes);
  if (!split.ok) return split;
  const { signingKeyId, signature, signingInput } = split;
  if (signingKeyId === undefined || signingKeyId === '') {
    return { ok: false, reason: EnvelopeFailure.KeyIdMissing, detail: 'no signing_key_id' };
  }
  const publicKey = lookupPublicKey(signingKeyId);
  if (publicKey === undefined) {
    return {
      ok: false,
      reason: EnvelopeFailure.UnknownKey,
      detail: `key ${signingKeyId} is not trusted`,
      signingKeyId,
    };
  }
  const verifier = options.verifier ?? defaultVerifier;
  if (!verifier.verify(publicKey, signingInput, signature)) {
    return {
      ok: false,
      reason: EnvelopeFailure.BadSignature,
      detail: `signature does not verify under key ${signingKeyId}`,
      signingKeyId,
    };
  }
  return { ok: true, signingKeyId, signature };
}
