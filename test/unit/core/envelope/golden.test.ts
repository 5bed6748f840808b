/**
 * Golden fixtures (test/fixtures/envelopes): each `.bin` decodes to its JSON twin and its signature
 * verifies under the twin's public key; the current encoder still produces the same bytes.
 * Regenerate with `node test/fixtures/envelopes/generate.ts` only for a deliberate contract change.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import {
  decodeEnvelope,
  scanFields,
  toJsonValue,
  verifyEnvelopeBytes,
} from '../../../../src/core/envelope/index.ts';
import { envelopeCases } from '../../../fixtures/envelopes/cases.ts';

const dir = `${repoRoot}/test/fixtures/envelopes`;
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => f.slice(0, -'.bin'.length))
  .sort();

interface Twin {
  signingKeyId: string;
  publicKey: string;
  bytes: number;
  sha256: string;
  envelope: unknown;
}

const load = (name: string) => ({
  bytes: new Uint8Array(readFileSync(`${dir}/${name}.bin`)),
  twin: JSON.parse(readFileSync(`${dir}/${name}.json`, 'utf8')) as Twin,
});

describe('golden envelopes', () => {
  it('has a .bin and a JSON twin for every case, including a legacy envelope', () => {
    expect(names).toEqual(envelopeCases.map((c) => c.name).sort());
    expect(names).toContain('legacy-flow-process');
  });

  it.each(names)('%s decodes to its JSON twin and its signature verifies', (name) => {
    const { bytes, twin } = load(name);
    expect(bytes.length).toBe(twin.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(twin.sha256);
    const decoded = decodeEnvelope(bytes);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(toJsonValue(decoded.envelope)).toEqual(twin.envelope);
    const publicKey = new Uint8Array(Buffer.from(twin.publicKey, 'hex'));
    const verified = verifyEnvelopeBytes(bytes, (id) => (id === twin.signingKeyId ? publicKey : undefined));
    expect(verified).toMatchObject({ ok: true, signingKeyId: twin.signingKeyId });
  });

  it.each(envelopeCases.map((c) => [c.name, c] as const))(
    '%s: the encoder still writes the golden bytes',
    (_, c) => {
      expect(Buffer.from(c.build()).toString('hex')).toBe(Buffer.from(load(c.name).bytes).toString('hex'));
    },
  );

  it('the legacy fixture keeps its FlowEvent and ProcessEvent, 64-bit values exact', () => {
    const decoded = decodeEnvelope(load('legacy-flow-process').bytes);
    if (!decoded.ok) throw new Error(decoded.detail);
    const t = decoded.envelope.telemetry;
    expect(t?.flows).toHaveLength(1);
    expect(t?.processes).toHaveLength(1);
    expect(t?.flows[0]?.bytes).toBe(2n ** 53n + 1n);
    expect(t?.processes[0]?.name).toBe('snmpd');
    expect(t?.metrics).toEqual([]);
  });

  it('the v2 fixture carries fields v1 does not know, at the top level and nested', () => {
    const { bytes } = load('snmp-v2-unknown-fields');
    const scan = scanFields(bytes);
    if (!scan.ok) throw new Error(scan.detail);
    expect(scan.fields.map((f) => f.fieldNumber)).toContain(6);
    expect(Buffer.from(bytes).includes(Buffer.from('RouterOS 7.16.2'))).toBe(true);
  });
});
