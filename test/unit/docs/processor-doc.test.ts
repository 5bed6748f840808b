import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { DlqHeader, RejectReason } from '../../../src/processors/telemetry/types.ts';

describe('docs/processor.md', () => {
  const doc = readFileSync(`${repoRoot}/docs/processor.md`, 'utf8');
  const section = (from: string, to: string) => doc.slice(doc.indexOf(from), doc.indexOf(to));

  it('lists exactly the reject reasons the code returns', () => {
    const rows = [...section('### Reasons', '### Headers').matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(Object.values(RejectReason).sort());
  });

  it('lists exactly the dead-letter headers the code writes', () => {
    const rows = [...section('### Headers', 'The dead letter').matchAll(/^\| `([a-z.]+)` \|/gm)].map(
      (m) => m[1],
    );
    expect(rows.sort()).toEqual(Object.values(DlqHeader).sort());
  });
});
