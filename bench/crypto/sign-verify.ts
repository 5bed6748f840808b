/**
 * Ed25519 sign and verify rates of node:crypto and @noble/ed25519, next to `openssl speed ed25519`
 * measured in the same run (the reference the processor's rate is judged against, DESIGN.md).
 * One core: Node runs these on its main thread, openssl speed runs one process.
 *
 *   node bench/crypto/sign-verify.ts [--seconds 2]
 *
 * Messages: a short one (32 bytes, like openssl speed's) and the signing input of a 29-metric
 * envelope (~3 KB) built by the real envelope code; `verifyEnvelopeBytes` adds the wire scan.
 */
import {
  createNobleSigner,
  createNobleVerifier,
  createNodeSigner,
  createNodeVerifier,
  publicKeyOf,
} from '../../src/core/crypto/index.ts';
import { buildSignedEnvelope, splitSignature, verifyEnvelopeBytes } from '../../src/core/envelope/index.ts';
import type { DevicePoll, Metric } from '../../src/core/telemetry/index.ts';
import { printTable, rate, row, run, saveResults } from '../lib.ts';

const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');

const secretKey = new Uint8Array(32).fill(0x42);
const publicKey = publicKeyOf(secretKey);
const short = new Uint8Array(32).fill(0x61);

// A realistic envelope: 29 metrics, as the default SNMP profile collects.
const metrics: Metric[] = Array.from({ length: 29 }, (_, i) => ({
  name: `if_hc_in_octets_${i}`,
  value:
    i % 3 === 0
      ? { kind: 'counter', value: 9_876_543_210n + BigInt(i), bits: 64 }
      : i % 3 === 1
        ? { kind: 'numeric', value: i * 1.5 }
        : { kind: 'string', value: `Linux device-1 6.1.0-28-amd64 #${i}` },
  unit: i % 3 === 0 ? 'bytes' : 'percent',
  oid: `1.3.6.1.2.1.31.1.1.1.6.${i}`,
  labels: [
    { key: 'ifIndex', value: String(i) },
    { key: 'ifDescr', value: `eth${i}` },
  ],
}));
const poll: DevicePoll = {
  deviceId: 'device-1',
  protocol: 'snmp',
  intervalS: 60,
  slot: 29_932_440n,
  slotStartNs: 29_932_440n * 60_000_000_000n,
  observedAtNs: 29_932_440n * 60_000_000_000n + 1_234_567n,
  metrics,
  status: {
    state: 'ok',
    reason: '',
    durationMs: 20,
    varbindsRequested: 29,
    varbindsReceived: 29,
    bytesCollected: 3_100,
  },
};
const envelope = buildSignedEnvelope(poll, createNodeSigner('bench', secretKey), 1n);
const split = splitSignature(envelope);
if (!split.ok) throw new Error(split.detail);
const signingInput = split.signingInput;

process.stderr.write(`[bench] openssl speed -seconds 3 ed25519 (about 6 s)\n`);
const openssl = await run('openssl', ['speed', '-seconds', '3', 'ed25519']);
const match = /EdDSA \(Ed25519\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(openssl.stdout);
if (match === null) throw new Error(`cannot read the output of openssl speed:\n${openssl.stdout}`);
const opensslSign = Number(match[1]);
const opensslVerify = Number(match[2]);
const opensslVersion = (await run('openssl', ['version'])).stdout.trim();

const implementations = {
  'node:crypto': {
    signer: createNodeSigner('bench', secretKey),
    verifier: createNodeVerifier(),
  },
  '@noble/ed25519': {
    signer: createNobleSigner('bench', secretKey),
    verifier: createNobleVerifier(),
  },
};

const measured: Record<string, Record<string, number>> = {};
const rows = [];
for (const [name, { signer, verifier }] of Object.entries(implementations)) {
  process.stderr.write(`[bench] ${name} (${seconds} s per measurement)\n`);
  const sigShort = signer.sign(short);
  // Warm up (JIT, key import caches) so the first measurement is not the slowest by accident.
  rate(() => verifier.verify(publicKey, short, sigShort), 0.3);
  rate(() => signer.sign(short), 0.3);
  const sigEnvelope = signer.sign(signingInput);
  const rates = {
    signShort: rate(() => signer.sign(short), seconds),
    verifyShort: rate(() => verifier.verify(publicKey, short, sigShort), seconds),
    signEnvelope: rate(() => signer.sign(signingInput), seconds),
    verifyEnvelope: rate(() => verifier.verify(publicKey, signingInput, sigEnvelope), seconds),
    verifyEnvelopeBytes: rate(() => verifyEnvelopeBytes(envelope, () => publicKey, { verifier }), seconds),
  };
  measured[name] = rates;
  rows.push(
    row({
      stage: `${name} sign 32 B`,
      unit: 'sign/s',
      rate: rates.signShort,
      reference: 'openssl speed sign',
      referenceRate: opensslSign,
    }),
    row({
      stage: `${name} verify 32 B`,
      unit: 'verify/s',
      rate: rates.verifyShort,
      reference: 'openssl speed verify',
      referenceRate: opensslVerify,
    }),
    row({
      stage: `${name} sign envelope`,
      unit: 'sign/s',
      rate: rates.signEnvelope,
      reference: 'openssl speed sign',
      referenceRate: opensslSign,
    }),
    row({
      stage: `${name} verify envelope`,
      unit: 'verify/s',
      rate: rates.verifyEnvelope,
      reference: 'openssl speed verify',
      referenceRate: opensslVerify,
    }),
    row({
      stage: `${name} verifyEnvelopeBytes`,
      unit: 'envelopes/s',
      rate: rates.verifyEnvelopeBytes,
      reference: 'openssl speed verify',
      referenceRate: opensslVerify,
      ...(name === 'node:crypto'
        ? { notes: 'wire scan, signature split and verify of the whole envelope, as the processor does it' }
        : {}),
    }),
  );
}

process.stdout.write(
  `\nEd25519, one core. ${opensslVersion}; Node ${process.version} (OpenSSL ${process.versions.openssl}); ` +
    `envelope: 29 metrics, ${envelope.length} bytes, signing input ${signingInput.length} bytes\n\n`,
);
printTable(rows);
const node = measured['node:crypto'] as Record<string, number>;
const noble = measured['@noble/ed25519'] as Record<string, number>;
const times = (a = 0, b = 0) => `${(a / b).toFixed(1)}x`;
process.stdout.write(
  `\nnode:crypto / noble: sign ${times(node.signShort, noble.signShort)} (32 B), ${times(node.signEnvelope, noble.signEnvelope)} (envelope); ` +
    `verify ${times(node.verifyShort, noble.verifyShort)} (32 B), ${times(node.verifyEnvelope, noble.verifyEnvelope)} (envelope)\n`,
);
const file = saveResults('crypto-sign-verify', rows, {
  openssl: { version: opensslVersion, signPerSecond: opensslSign, verifyPerSecond: opensslVerify },
  envelopeBytes: envelope.length,
  signingInputBytes: signingInput.length,
});
process.stdout.write(`results: ${file}\n`);
