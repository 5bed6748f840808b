import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { EnvelopeFailure, envelopeSchema } from '../../../src/core/envelope/index.ts';

describe('docs/envelope.md', () => {
  const doc = readFileSync(`${repoRoot}/docs/envelope.md`, 'utf8');

  it('lists exactly the failure reasons the code returns', () => {
    const section = doc.slice(doc.indexOf('Reasons (`EnvelopeFailure`)'), doc.indexOf('## Wire format'));
    const documented = [...section.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.values(EnvelopeFailure).sort());
  });

  it('documents every UniversalEnvelope field with its number', () => {
    const root = protobuf.parse(envelopeSchema.source, { keepCase: true }).root;
    const type = root.lookupType(envelopeSchema.message);
    const rows = [...doc.matchAll(/^\| (\d+) \| `([a-z_]+)` \|/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(rows).toEqual(
      type.fieldsArray.map((f) => [f.id, f.name]).sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  });
});
