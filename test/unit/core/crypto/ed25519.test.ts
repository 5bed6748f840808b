/**
 * Pins the Ed25519 behaviour AMOSKYS depends on. node:crypto is the chosen signer and verifier
 * (docs/security.md); @noble/ed25519 is measured beside it and disagrees on edge cases, so every
 * vector records what both answer. A Node.js/OpenSSL upgrade that changes an answer fails here.
 */
import { readFileSync } from 'node:fs';
import * as noble from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import {
  createNobleSigner,
  createNobleVerifier,
  createNodeSigner,
  createNodeVerifier,
  PublicKeyProblem,
  publicKeyOf,
  publicKeyProblem,
} from '../../../../src/core/crypto/index.ts';

interface RfcVector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface Properties {
  sBelowL: boolean;
  keyOrder: 'small' | 'mixed' | 'prime' | 'invalid';
  keyCanonical: boolean;
  rOrder: 'small' | 'mixed' | 'prime' | 'invalid';
  rCanonical: boolean;
}
interface EdgeCase {
  name?: string;
  index?: number;
  publicKey: string;
  message: string;
  signature: string;
  properties: Properties;
  expected: { node: boolean; noble: boolean; nobleStrict: boolean };
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(`${repoRoot}/test/fixtures/ed25519/${name}.json`, 'utf8')) as unknown;
const rfc = (fixture('rfc8032') as { vectors: RfcVector[] }).vectors;
const edge = (fixture('edge-cases') as { cases: EdgeCase[] }).cases;
const speccheck = (fixture('speccheck') as { cases: EdgeCase[] }).cases;
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const label = (c: EdgeCase) => c.name ?? `speccheck #${c.index}`;

const node = createNodeVerifier();
const nobleDefault = createNobleVerifier();
const nobleStrict = createNobleVerifier({ zip215: false });

/** Recomputes a vector's properties, so the fixture's description of itself is checked too. */
function properties(publicKey: Uint8Array, signature: Uint8Array): Properties {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const p = 2n ** 255n - 19n;
  const littleEndian = (b: Uint8Array, mask = 0xff) =>
    [...b].reverse().reduce((n, byte, i) => (n << 8n) | BigInt(i === 0 ? byte & mask : byte), 0n);
  const point = (b: Uint8Array) => {
    try {
      return noble.Point.fromBytes(b, true);
    } catch {
      return undefined;
    }
  };
  const canonical = (b: Uint8Array) => {
    if (littleEndian(b, 0x7f) >= p) return false;
    return !(point(b)?.x === 0n && ((b[31] as number) & 0x80) !== 0);
  };
  const order = (b: Uint8Array) => {
    const P = point(b);
    if (P === undefined) return 'invalid';
    return P.isSmallOrder() ? 'small' : P.isTorsionFree() ? 'prime' : 'mixed';
  };
  const r = signature.subarray(0, 32);
  return {
    sBelowL: littleEndian(signature.subarray(32)) < L,
    keyOrder: order(publicKey),
    keyCanonical: canonical(publicKey),
    rOrder: order(r),
    rCanonical: canonical(r),
  };
}

describe('RFC 8032 test vectors', () => {
  it.each(rfc.map((v) => [v.name, v] as const))(
    '%s: both signers give the RFC signature; both verifiers accept it',
    (_, v) => {
      const secret = bytes(v.secretKey);
      const message = bytes(v.message);
      expect(hex(publicKeyOf(secret))).toBe(v.publicKey);
      expect(hex(createNodeSigner('k', secret).sign(message))).toBe(v.signature);
      expect(hex(createNobleSigner('k', secret).sign(message))).toBe(v.signature);
      expect(node.verify(bytes(v.publicKey), message, bytes(v.signature))).toBe(true);
      expect(nobleDefault.verify(bytes(v.publicKey), message, bytes(v.signature))).toBe(true);
      expect(publicKeyProblem(bytes(v.publicKey))).toBeUndefined();
    },
  );
});

describe('edge cases (test/fixtures/ed25519)', () => {
  const all = [...edge, ...speccheck];

  it.each(all.map((c) => [label(c), c] as const))(
    '%s: properties as described, verifiers as pinned',
    (_, c) => {
      const publicKey = bytes(c.publicKey);
      const message = bytes(c.message);
      const signature = bytes(c.signature);
      expect(properties(publicKey, signature)).toEqual(c.properties);
      expect({
        node: node.verify(publicKey, message, signature),
        noble: nobleDefault.verify(publicKey, message, signature),
        nobleStrict: nobleStrict.verify(publicKey, message, signature),
      }).toEqual(c.expected);
    },
  );

  it('node:crypto rejects tampered messages and signatures, and S >= L', () => {
    for (const name of ['tampered-message', 'tampered-signature', 'non-canonical-s']) {
      const c = edge.find((e) => e.name === name) as EdgeCase;
      expect(node.verify(bytes(c.publicKey), bytes(c.message), bytes(c.signature)), name).toBe(false);
    }
    // Every vector with S >= L is rejected, by both libraries.
    for (const c of all.filter((x) => !x.properties.sBelowL)) {
      expect(c.expected, label(c)).toEqual({ node: false, noble: false, nobleStrict: false });
    }
  });

  it('node:crypto rejects every signature under a small-order public key; noble (ZIP-215) accepts them', () => {
    const smallOrder = all.filter((c) => c.properties.keyOrder === 'small');
    expect(smallOrder.length).toBeGreaterThanOrEqual(4);
    for (const c of smallOrder) expect(c.expected.node, label(c)).toBe(false);
    expect(smallOrder.filter((c) => c.expected.noble).length).toBeGreaterThan(0);
  });

  it('the two libraries disagree exactly where the fixtures say (why one verifier is pinned)', () => {
    const disagree = all.filter((c) => c.expected.node !== c.expected.noble).map(label);
    expect(disagree).toContain('mixed-order-key');
    expect(disagree).toContain('small-order-key-identity');
    // node:crypto never accepts what noble rejects: it is the stricter of the two on every vector.
    expect(all.filter((c) => c.expected.node && !c.expected.noble)).toEqual([]);
  });
});

describe('publicKeyProblem (trust-store admission)', () => {
  it('refuses small-order, mixed-order, non-canonical and malformed keys', () => {
    const byName = (name: string) => bytes((edge.find((e) => e.name === name) as EdgeCase).publicKey);
    expect(publicKeyProblem(byName('small-order-key-identity'))).toBe(PublicKeyProblem.SmallOrder);
    expect(publicKeyProblem(byName('small-order-key-order-4'))).toBe(PublicKeyProblem.SmallOrder);
    expect(publicKeyProblem(byName('mixed-order-key'))).toBe(PublicKeyProblem.MixedOrder);
    expect(publicKeyProblem(byName('non-canonical-key-identity'))).toBe(PublicKeyProblem.NonCanonical);
    // x = 0 with the sign bit set: the order-2 point written non-canonically (speccheck #13).
    expect(publicKeyProblem(bytes((speccheck[13] as EdgeCase).publicKey))).toBe(
      PublicKeyProblem.NonCanonical,
    );
    expect(publicKeyProblem(new Uint8Array(31))).toBe(PublicKeyProblem.WrongLength);
    // y = 2: no x satisfies the curve equation.
    const notOnCurve = new Uint8Array(32);
    notOnCurve[0] = 2;
    expect(publicKeyProblem(notOnCurve)).toBe(PublicKeyProblem.NotOnCurve);
  });

  it('accepts every key from honest generation', () => {
    for (let i = 0; i < 20; i++) {
      expect(publicKeyProblem(publicKeyOf(new Uint8Array(32).fill(i)))).toBeUndefined();
    }
  });
});

describe('verifiers on malformed input', () => {
  it('answer false instead of throwing', () => {
    const v = rfc[0] as RfcVector;
    for (const verifier of [node, nobleDefault]) {
      expect(verifier.verify(new Uint8Array(31), bytes(v.message), bytes(v.signature))).toBe(false);
      expect(verifier.verify(bytes(v.publicKey), bytes(v.message), new Uint8Array(63))).toBe(false);
      expect(verifier.verify(new Uint8Array(32).fill(0xff), bytes(v.message), bytes(v.signature))).toBe(
        false,
      );
    }
  });
});
