import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { featureColumns, featuresSchema } from '../../../src/core/features/index.ts';

describe('docs/features.md', () => {
  const doc = readFileSync(`${repoRoot}/docs/features.md`, 'utf8');
  const root = protobuf.parse(featuresSchema.source, { keepCase: true }).root;
  const type = root.lookupType(featuresSchema.message);
  const rows = (from: string, to: string) =>
    [
      ...doc
        .slice(doc.indexOf(from), doc.indexOf(to))
        .matchAll(/^\| (\d+) \| `([a-z0-9_]+)` \| ([A-Za-z0-9 ]+) \|/gm),
    ].map((m) => ({ id: Number(m[1]), name: m[2], type: m[3]?.trim() }));

  it('documents every FeatureRow field with its number, header and feature columns alike', () => {
    const documented = [
      ...rows('## Header columns', '## Feature columns'),
      ...rows('## Feature columns', '### How'),
    ];
    expect(documented.map((r) => [r.id, r.name])).toEqual(
      type.fieldsArray.map((f) => [f.id, f.name]).sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  });

  it('gives each feature column the type and unit of the catalogue', () => {
    const documented = rows('## Feature columns', '### How');
    for (const column of featureColumns) {
      expect(documented.find((r) => r.name === column.name)?.type, column.name).toBe(column.type);
      const line = doc.split('\n').find((l) => l.startsWith(`| ${column.field} | \`${column.name}\``));
      const unit = line?.split('|')[4]?.trim().replace('/s', '_per_second');
      expect(unit, column.name).toBe(column.unit);
    }
  });

  it('documents every rate state and every ExtraMetric field', () => {
    for (const name of Object.keys(root.lookupEnum('amoskys.telemetry.v1.FeatureRow.RateState').values)) {
      if (name !== 'RATE_STATE_UNSPECIFIED') expect(doc).toContain(`| \`${name}\` |`);
    }
    const extra = root.lookupType('amoskys.telemetry.v1.ExtraMetric');
    expect(rows('## Extra', '## Recipes').map((r) => [r.id, r.name])).toEqual(
      extra.fieldsArray.map((f) => [f.id, f.name]),
    );
  });
});
