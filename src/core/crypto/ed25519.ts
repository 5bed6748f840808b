/**
 * Ed25519 signing and verification with two implementations side by side: node:crypto (OpenSSL,
 * the one AMOSKYS uses) and @noble/ed25519 (pure JavaScript, kept for the benchmark and for the
 * tests that pin where the two disagree). docs/security.md says why node:crypto was chosen.
 *
 * Keys are raw RFC 8032 bytes everywhere in AMOSKYS: a 32-byte secret (the seed) and a 32-byte
 * public key. The DER wrappers below exist only because node:crypto imports keys as PKCS#8/SPKI.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import * as noble from '@noble/ed25519';

// noble's synchronous API needs a SHA-512; node:crypto's is the obvious one.
noble.hashes.sha512 = (message) => new Uint8Array(createHash('sha512').update(message).digest());

/** Bytes of an Ed25519 secret key (the RFC 8032 seed). */
export const ED25519_SECRET_KEY_BYTES = 32;
/** Bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;

/** ASN.1 prefixes of RFC 8410: PKCS#8 PrivateKeyInfo and SPKI for id-Ed25519 (1.3.101.112). */
const pkcs8Prefix = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const spkiPrefix = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** The implementations this module offers. */
export const Ed25519Implementation = {
  /** node:crypto, i.e. the OpenSSL bundled with Node.js. */
  Node: 'node',
  /** @noble/ed25519, default (ZIP-215) verification rules. */
  Noble: 'noble',
} as const;
export type Ed25519Implementation = (typeof Ed25519Implementation)[keyof typeof Ed25519Implementation];

/** Signs envelopes for one key. Deterministic: the same bytes always give the same signature. */
export interface Signer {
  /** Id of the key in the trust store; goes into `signing_key_id`. */
  readonly keyId: string;
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** Checks Ed25519 signatures. Returns false, never throws, for any malformed input. */
export interface Verifier {
  readonly implementation: Ed25519Implementation;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, got ${bytes?.length}`);
  }
}

/** A node:crypto private KeyObject from a 32-byte secret. */
export function nodePrivateKey(secretKey: Uint8Array): KeyObject {
  checkLength(secretKey, ED25519_SECRET_KEY_BYTES, 'Ed25519 secret key');
  return createPrivateKey({ key: Buffer.from(concat(pkcs8Prefix, secretKey)), format: 'der', type: 'pkcs8' });
}

/** A node:crypto public KeyObject from a 32-byte public key. */
export function nodePublicKey(publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, ED25519_PUBLIC_KEY_BYTES, 'Ed25519 public key');
  return createPublicKey({ key: Buffer.from(concat(spkiPrefix, publicKey)), format: 'der', type: 'spki' });
}

/** The 32-byte public key of a 32-byte secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const der = createPublicKey(nodePrivateKey(secretKey)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(spkiPrefix.length));
}

/** A signer backed by node:crypto (OpenSSL). */
export function createNodeSigner(keyId: string, secretKey: Uint8Array): Signer {
  const key = nodePrivateKey(secretKey);
  return {
    keyId,
    sign: (message) => new Uint8Array(sign(null, message, key)),
  };
}

/** A signer backed by @noble/ed25519. Same signatures as the node:crypto one (Ed25519 is deterministic). */
export function createNobleSigner(keyId: string, secretKey: Uint8Array): Signer {
  checkLength(secretKey, ED25519_SECRET_KEY_BYTES, 'Ed25519 secret key');
  const secret = Uint8Array.from(secretKey);
  return {
    keyId,
    sign: (message) => noble.sign(message, secret),
  };
}

/** A signer of the given implementation. @default implementation 'node' */
export function createSigner(
  keyId: string,
  secretKey: Uint8Array,
  implementation: Ed25519Implementation = Ed25519Implementation.Node,
): Signer {
  return implementation === Ed25519Implementation.Node
    ? createNodeSigner(keyId, secretKey)
    : createNobleSigner(keyId, secretKey);
}

/** Options of {@link createNodeVerifier}. */
export interface NodeVerifierOptions {
  /** Imported public keys kept for reuse (an SPKI import costs about as much as a verify). @default 1024 */
  maxCachedKeys?: number;
}

/**
 * The verifier AMOSKYS uses: node:crypto, i.e. OpenSSL's Ed25519 (cofactorless equation, S < L
 * required, small-order public keys rejected). test/unit/core/crypto pins its answers on edge-case
 * vectors so that a Node.js or OpenSSL upgrade that changes them fails a test instead of silently
 * changing which envelopes are accepted.
 */
export function createNodeVerifier(options: NodeVerifierOptions = {}): Verifier {
  const maxCachedKeys = options.maxCachedKeys ?? 1024;
  const cache = new Map<string, KeyObject | null>();
  const keyObject = (publicKey: Uint8Array): KeyObject | null => {
    const id = Buffer.from(publicKey).toString('base64');
    let key = cache.get(id);
    if (key === undefined) {
      try {
        key = nodePublicKey(publicKey);
      } catch {
        key = null;
      }
      // A Map iterates in insertion order: dropping the first entry evicts the oldest import.
      if (cache.size >= maxCachedKeys) cache.delete(cache.keys().next().value as string);
      cache.set(id, key);
    }
    return key;
  };
  return {
    implementation: Ed25519Implementation.Node,
    verify(publicKey, message, signature) {
      if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) {
        return false;
      }
      const key = keyObject(publicKey);
      if (key === null) return false;
      try {
        return verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** Options of {@link createNobleVerifier}. */
export interface NobleVerifierOptions {
  /** ZIP-215 rules (cofactored, non-canonical point encodings accepted): noble's default. @default true */
  zip215?: boolean;
}

/** A verifier backed by @noble/ed25519; for the benchmark and the edge-case comparison only. */
export function createNobleVerifier(options: NobleVerifierOptions = {}): Verifier {
  const zip215 = options.zip215 ?? true;
  return {
    implementation: Ed25519Implementation.Noble,
    verify(publicKey, message, signature) {
      try {
        return noble.verify(signature, message, publicKey, { zip215 });
      } catch {
        return false;
      }
    },
  };
}

/** Why a public key may not enter a trust store. */
export const PublicKeyProblem = {
  WrongLength: 'wrong_length',
  /** Not the canonical encoding of a curve point (y ≥ p, or x = 0 with the sign bit set). */
  NonCanonical: 'non_canonical',
  /** Not a point on the curve. */
  NotOnCurve: 'not_on_curve',
  /** A point of order 1, 2, 4 or 8: signatures under it can verify for any message. */
  SmallOrder: 'small_order',
  /**
   * A large-order point plus a torsion component. Honest key generation never yields one; under
   * a cofactorless verifier its signatures verify or not depending on the message hash.
   */
  MixedOrder: 'mixed_order',
} as const;
export type PublicKeyProblem = (typeof PublicKeyProblem)[keyof typeof PublicKeyProblem];

/** Each {@link PublicKeyProblem} in words, for error messages. */
export const publicKeyProblemText: Readonly<Record<PublicKeyProblem, string>> = {
  wrong_length: 'an Ed25519 public key is 32 bytes',
  non_canonical: 'not the canonical encoding of a curve point',
  not_on_curve: 'not a point on the curve',
  small_order: 'a point of order 8 or less: signatures under it can verify for any message',
  mixed_order: 'a point with a torsion component: honest key generation never yields one',
};

const fieldPrime = 2n ** 255n - 19n;

/**
 * Checks a public key before it is trusted: the canonical encoding of a point of the prime-order
 * subgroup, as honest key generation yields.
 * Returns the problem, or undefined when the key is acceptable.
 */
export function publicKeyProblem(publicKey: Uint8Array): PublicKeyProblem | undefined {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    return PublicKeyProblem.WrongLength;
  }
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt((publicKey[i] as number) & (i === 31 ? 0x7f : 0xff));
  if (y >= fieldPrime) return PublicKeyProblem.NonCanonical;
  let point: noble.Point;
  try {
    // Lenient (ZIP-215) decoding: the canonical-encoding checks are the ones above and below.
    point = noble.Point.fromBytes(publicKey, true);
  } catch {
    return PublicKeyProblem.NotOnCurve;
  }
  // x = 0 has only one canonical encoding: sign bit clear.
  if (point.x === 0n && ((publicKey[31] as number) & 0x80) !== 0) return PublicKeyProblem.NonCanonical;
  if (point.isSmallOrder()) return PublicKeyProblem.SmallOrder;
  if (!point.isTorsionFree()) return PublicKeyProblem.MixedOrder;
  return undefined;
}
