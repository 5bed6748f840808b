/**
 * Golden feature rows (test/fixtures/features): each `.bin` decodes to its JSON twin, and flatten +
 * encodeFeatureRow still produce the same bytes from the same polls. Regenerate with
 * `node test/fixtures/features/generate.ts` only for a deliberate change of the contract or of the
 * flatten rules (and say so in docs/features.md).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import { toJsonValue } from '../../../../src/core/envelope/index.ts';
import { decodeFeatureRow, encodeFeatureRow, featureColumns } from '../../../../src/core/features/index.ts';
import { featureCases } from '../../../fixtures/features/cases.ts';

const dir = `${repoRoot}/test/fixtures/features`;
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => f.slice(0, -'.bin'.length))
  .sort();

interface Twin {
  bytes: number;
  sha256: string;
  row: { features: Record<string, unknown>; extra: unknown[]; rateState: string };
}

const load = (name: string) => ({
  bytes: new Uint8Array(readFileSync(`${dir}/${name}.bin`)),
  twin: JSON.parse(readFileSync(`${dir}/${name}.json`, 'utf8')) as Twin,
});

describe('golden feature rows', () => {
  it('has a .bin and a JSON twin for every case', () => {
    expect(names).toEqual(featureCases.map((c) => c.name).sort());
  });

  it.each(names)('%s decodes to its JSON twin', (name) => {
    const { bytes, twin } = load(name);
    expect(bytes.length).toBe(twin.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(twin.sha256);
    const decoded = decodeFeatureRow(bytes);
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(toJsonValue(decoded.row)).toEqual(twin.row);
  });

  it.each(featureCases.map((c) => [c.name, c] as const))(
    '%s: flatten and the encoder still write the golden bytes',
    async (name, c) => {
      const bytes = encodeFeatureRow(await c.build());
      expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(load(name).bytes).toString('hex'));
    },
  );

  it('the rates fixture holds every column, the wrapped counter rate and 52 table rows', () => {
    const { row } = load('snmpd-rates').twin;
    expect(Object.keys(row.features).sort()).toEqual(featureColumns.map((c) => c.name).sort());
    expect(row.features.cpu_raw_user).toBe('2704');
    expect(row.features.cpu_raw_user_per_second).toBe(50);
    expect(row.extra).toHaveLength(52);
    expect(load('snmpd-agent-restart').twin.row.rateState).toBe('agent_restart');
    expect(load('unreachable').twin.row.features).toEqual({});
  });
});
